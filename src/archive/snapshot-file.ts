// A file given on the command line may be an archive (<id>.tar.zst) or a raw snapshot (a
// member's snap/ file, or an <id>.snap taken out of an archive). The first bytes tell which.
import { open } from 'node:fs/promises';
import { IntegrityError } from '../errors.js';
import { mapFsError } from '../repo/fs-errors.js';
import { MAGIC } from '../snapshot/format.js';
import { ZSTD_MAGIC } from './compression.js';

export type SnapshotFileKind = 'archive' | 'snapshot';

/** Tells an archive from a raw snapshot; IntegrityError for anything else. */
export async function sniffSnapshotFile(path: string): Promise<SnapshotFileKind> {
  let head: Buffer;
  try {
    const handle = await open(path, 'r');
    try {
      head = Buffer.alloc(MAGIC.length);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw mapFsError(err, `read ${path}`, path);
  }
  if (head.length >= ZSTD_MAGIC.length && head.subarray(0, ZSTD_MAGIC.length).equals(ZSTD_MAGIC)) return 'archive';
  if (head.equals(MAGIC)) return 'snapshot';
  throw new IntegrityError(
    head.length === 0 ? `${path} is empty` : `${path} is neither a Lifeboat archive (.tar.zst) nor a Lifeboat snapshot`,
    'check the path: only archives written by lifeboat snapshot save and snapshot files written by lifeboat can be read',
  );
}
