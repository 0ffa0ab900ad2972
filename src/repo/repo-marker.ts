// The repository marker, lifeboat-repo.json: proves a directory or prefix is a Lifeboat
// repository and says which layout version it uses, so an older build never misreads a newer one.
import { IntegrityError } from '../errors.js';
import { VERSION } from '../version.js';

export const MARKER_KEY = 'lifeboat-repo.json';
export const MARKER_SCHEMA = 'lifeboat.repository/v1';
/** The repository layout this build writes and reads. */
export const REPO_FORMAT_VERSION = 1;

/** The marker's content. */
export interface RepoMarker {
  readonly schema: typeof MARKER_SCHEMA;
  readonly formatVersion: number;
  readonly createdAt: string;
  readonly createdBy: string;
}

/** The bytes of a fresh marker. */
export function newMarker(now = new Date()): Buffer {
  const marker: RepoMarker = {
    schema: MARKER_SCHEMA,
    formatVersion: REPO_FORMAT_VERSION,
    createdAt: now.toISOString(),
    createdBy: `lifeboat ${VERSION}`,
  };
  return Buffer.from(JSON.stringify(marker, null, 2) + '\n');
}

/** Checks a marker read from `url`; IntegrityError when it is foreign, damaged or newer. */
export function checkMarker(bytes: Buffer, url: string): RepoMarker {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new IntegrityError(
      `repository marker ${MARKER_KEY} at ${url} is not valid JSON`,
      'the marker was damaged or written by another tool; check the --repo path',
    );
  }
  const m = parsed as Partial<RepoMarker> | null;
  if (!m || typeof m !== 'object' || m.schema !== MARKER_SCHEMA || typeof m.formatVersion !== 'number') {
    throw new IntegrityError(
      `${url} holds a ${MARKER_KEY} that is not a Lifeboat repository marker`,
      'point --repo at a Lifeboat repository, or at an empty directory for a new one',
    );
  }
  if (m.formatVersion !== REPO_FORMAT_VERSION) {
    throw new IntegrityError(
      `repository ${url} has layout version ${m.formatVersion}; this build reads version ${REPO_FORMAT_VERSION}`,
      m.formatVersion > REPO_FORMAT_VERSION ? 'upgrade lifeboat to read this repository' : 'the marker is damaged; check the --repo path',
    );
  }
  return m as RepoMarker;
}
