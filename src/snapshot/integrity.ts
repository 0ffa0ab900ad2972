// The IntegrityErrors a snapshot reader or writer throws. Messages are one line and say what
// failed and where (byte offset, chunk number); hints say what an operator can do about it.
import { IntegrityError } from '../errors.js';

const CORRUPT_HINT =
  'the snapshot was damaged on disk or in transit; use another snapshot (snapshot verify --all) or take a new one';
const TRUNCATED_HINT =
  'the snapshot is incomplete (an interrupted transfer, a killed writer or a full disk); fetch or take it again';

/** A checksum, count or structure check failed. */
export function corruptSnapshot(what: string): IntegrityError {
  return new IntegrityError(`snapshot corrupt: ${what}`, CORRUPT_HINT);
}

/** The input ended before the end magic. */
export function truncatedSnapshot(what: string): IntegrityError {
  return new IntegrityError(`snapshot truncated: ${what}`, TRUNCATED_HINT);
}

/** The first bytes are not the magic. */
export function notASnapshot(what: string): IntegrityError {
  return new IntegrityError(
    `not a Lifeboat snapshot: ${what}`,
    'check the path or object: only files written by lifeboat (snapshot save, a member\'s snap/ directory) can be read',
  );
}

/** The version field names a format this build does not read. */
export function unsupportedVersion(version: number, supported: number): IntegrityError {
  const newer = version > supported;
  return new IntegrityError(
    `snapshot format version ${version} is ${newer ? 'newer than' : 'not'} the version this build reads (${supported})`,
    newer
      ? `upgrade lifeboat to a release that reads snapshot format version ${version}`
      : 'the version field is damaged or the file was not written by lifeboat; use another snapshot',
  );
}

/** A record source handed the encoder something the format cannot carry (out of order, bad revisions). */
export function invalidSource(what: string): IntegrityError {
  return new IntegrityError(
    `snapshot source is inconsistent: ${what}`,
    'the member\'s state or the data directory is damaged; take the snapshot from another member',
  );
}
