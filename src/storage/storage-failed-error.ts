// The error a member's storage throws once a write or fsync has failed: the state on disk
// is unknown from then on, so it is never retried and every later call fails the same way.

import { ExitCode, LifeboatError } from '../errors.js';
import { errorCode } from './file-system.js';

/** A write or fsync failed (ENOSPC, EIO, ...): the storage is failed for good; the member must stop. */
export class StorageFailedError extends LifeboatError {
  /** The node-style error code of the first failure ('ENOSPC', 'EIO', ...), if it had one. */
  readonly code: string | undefined;
  constructor(operation: string, cause: unknown) {
    const code = errorCode(cause);
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      `member storage failed during ${operation}: ${detail}`,
      code === 'ENOSPC'
        ? 'the disk is full: free space, then restart the member; what it acknowledged is on disk'
        : 'the disk reported an error: check it (dmesg, SMART), then restart the member; what it acknowledged is on disk',
      ExitCode.failure,
      { cause },
    );
    this.code = code;
  }
}
