// Turns node's file-system errors into the typed errors of PRODUCT.md section 5, so that a
// full disk or a read-only mount is exit 14 with a hint, and a missing path is exit 10.
import { LifeboatError, NotFoundError, StorageUnavailableError } from '../errors.js';

const DESCRIPTIONS: Record<string, [string, string]> = {
  EACCES: ['permission denied', 'check that this user may write to the repository (owner, mode, ACLs)'],
  EPERM: ['operation not permitted', 'check that this user may write to the repository (owner, mode, immutable flags)'],
  EROFS: ['read-only file system', 'the repository is on a read-only mount; remount it read-write or choose another --repo'],
  ENOSPC: ['no space left on device', 'free space on the device or prune old snapshots (lifeboat snapshot prune)'],
  EDQUOT: ['disk quota exceeded', 'raise the quota or prune old snapshots (lifeboat snapshot prune)'],
  EIO: ['input/output error', 'the device reported an I/O error; check the disk (dmesg) before trusting this repository'],
  ENOTDIR: ['a component of the path is not a directory', 'check the --repo path: part of it is a file'],
  EISDIR: ['is a directory', 'check the --repo path'],
  ELOOP: ['too many symbolic links', 'check the --repo path for a symlink loop'],
  ENAMETOOLONG: ['name too long', 'choose a shorter --repo path'],
  EMFILE: ['too many open files', 'raise the open-file limit (ulimit -n)'],
};

/** True for an error raised by a node fs call (it has a string `code` like "ENOSPC"). */
export function isFsError(err: unknown): err is NodeJS.ErrnoException & { code: string } {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && !(err instanceof LifeboatError);
}

/**
 * Maps an fs error met while doing `action` (e.g. "write snapshots/x.tar.zst") on `where`
 * (the repository) to a typed error; anything that is not an fs error passes through.
 */
export function mapFsError(err: unknown, action: string, where: string): unknown {
  if (!isFsError(err)) return err;
  if (err.code === 'ENOENT') {
    return new NotFoundError(`cannot ${action} in ${where}: not found`, 'check the --repo path and the snapshot ID (lifeboat snapshot list)', { cause: err });
  }
  const [what, hint] = DESCRIPTIONS[err.code] ?? [err.code, 'check the repository\'s disk and permissions'];
  return new StorageUnavailableError(`cannot ${action} in ${where}: ${what} (${err.code})`, hint, { cause: err });
}
