// The error that stops a member whose data directory is damaged beyond a torn tail.

import { ExitCode, LifeboatError } from '../errors.js';

export const CORRUPTION_HINT =
  'restore this member from a snapshot, or remove it from the cluster and re-add it; the data directory was left untouched for inspection';

/** Damaged member data: names the file and the byte offset where the damage starts. */
export class CorruptionError extends LifeboatError {
  readonly file: string;
  readonly offset: number;
  readonly reason: string;
  constructor(file: string, offset: number, reason: string, options?: { cause?: unknown }) {
    super(`corrupt member data in ${file} at byte offset ${offset}: ${reason}`, CORRUPTION_HINT, ExitCode.failure, options);
    this.file = file;
    this.offset = offset;
    this.reason = reason;
  }
}
