// Typed errors shared by every layer above the raft core.
// Each carries the exit code of PRODUCT.md section 5 and a hint saying what to do next;
// only the CLI turns them into process exit codes.

/** Exit codes of PRODUCT.md section 5. Unknown codes mean failure. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  clusterUnavailable: 3,
  notFound: 10,
  locked: 11,
  integrity: 13,
  storageUnavailable: 14,
  drillFailed: 16,
  unsafe: 17,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: a one-line message, a one-line hint and the exit code the CLI should use. */
export class LifeboatError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string;
  constructor(message: string, hint: string, exitCode: ExitCode = ExitCode.failure, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

/** A flag or argument is missing, malformed or contradicts another; the message names the flag. */
export class UsageError extends LifeboatError {
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, hint, ExitCode.usage, options);
  }
}

/** No endpoint answered, no quorum, or the cluster timed out. */
export class ClusterUnavailableError extends LifeboatError {
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, hint, ExitCode.clusterUnavailable, options);
  }
}

/** A repository, snapshot or file that was asked for does not exist. */
export class NotFoundError extends LifeboatError {
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, hint, ExitCode.notFound, options);
  }
}

/** Another run holds the repository lock. */
export class LockedError extends LifeboatError {
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, hint, ExitCode.locked, options);
  }
}

/** Checksum, size, count or hash mismatch; truncated, corrupt, foreign or incomplete data. */
export class IntegrityError extends LifeboatError {
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, hint, ExitCode.integrity, options);
  }
}

/** The repository's storage cannot be reached, written, or access was denied. */
export class StorageUnavailableError extends LifeboatError {
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, hint, ExitCode.storageUnavailable, options);
  }
}

/** A restore drill ran and one of its checks failed. */
export class DrillFailedError extends LifeboatError {
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, hint, ExitCode.drillFailed, options);
  }
}

/** An operation that would destroy or overwrite something was refused. */
export class UnsafeOperationError extends LifeboatError {
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, hint, ExitCode.unsafe, options);
  }
}

/** The run was interrupted by SIGINT or SIGTERM; nothing partial was committed. */
export class InterruptedError extends LifeboatError {
  constructor(message: string, hint = 'run the command again; nothing partial was committed') {
    super(message, hint, ExitCode.interrupted);
  }
}
