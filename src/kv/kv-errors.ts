// The errors the key-value state machine raises. Each carries the gRPC code and the exact
// message etcd 3.4 sends for the same failure, so the HTTP gateway can answer
// {"error", "message", "code"} as etcd does without a translation table.

import { ExitCode, LifeboatError } from '../errors.js';

/** gRPC status codes used by the KV API. */
export const GrpcCode = {
  invalidArgument: 3,
  notFound: 5,
  failedPrecondition: 9,
  outOfRange: 11,
  unavailable: 14,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/** Base class of every KV error: `message` is etcd's error string, `grpcCode` its status code. */
export class KvError extends LifeboatError {
  readonly grpcCode: GrpcCode;
  constructor(message: string, hint: string, grpcCode: GrpcCode, exitCode: ExitCode) {
    super(message, hint, exitCode);
    this.grpcCode = grpcCode;
  }
}

/** The revision asked for is below the compact revision (or below where this member's history starts). */
export class CompactedError extends KvError {
  constructor() {
    super(
      'etcdserver: mvcc: required revision has been compacted',
      'read at a newer revision (0 means the current one); older history was dropped by compaction',
      GrpcCode.outOfRange,
      ExitCode.failure,
    );
  }
}

/** The revision asked for is newer than the store's current revision. */
export class FutureRevisionError extends KvError {
  constructor() {
    super(
      'etcdserver: mvcc: required revision is a future revision',
      'ask for a revision at or below the current one (see the response header revision)',
      GrpcCode.outOfRange,
      ExitCode.failure,
    );
  }
}

/** A malformed or contradictory request; the subclasses name the case. */
export class InvalidArgumentError extends KvError {
  constructor(message: string, hint: string) {
    super(message, hint, GrpcCode.invalidArgument, ExitCode.usage);
  }
}

/** The request has no key. */
export class EmptyKeyError extends InvalidArgumentError {
  constructor() {
    super('etcdserver: key is not provided', 'give a non-empty key');
  }
}

/** A put with ignore_value or ignore_lease names a key that does not exist. */
export class KeyNotFoundError extends InvalidArgumentError {
  constructor() {
    super('etcdserver: key not found', 'ignore_value and ignore_lease only update an existing key; put it without them first');
  }
}

/** A put with ignore_value also carries a value. */
export class ValueProvidedError extends InvalidArgumentError {
  constructor() {
    super('etcdserver: value is provided', 'leave the value empty when ignore_value is set');
  }
}

/** A put with ignore_lease also carries a lease. */
export class LeaseProvidedError extends InvalidArgumentError {
  constructor() {
    super('etcdserver: lease is provided', 'leave the lease at 0 when ignore_lease is set');
  }
}

/** A txn branch has more operations than the limit. */
export class TooManyOpsError extends InvalidArgumentError {
  constructor() {
    super('etcdserver: too many operations in txn request', 'split the transaction into smaller ones');
  }
}

/** A txn writes the same key twice (two puts, or a put inside a deleted range). */
export class DuplicateKeyError extends InvalidArgumentError {
  constructor() {
    super('etcdserver: duplicate key given in txn request', 'write each key at most once per transaction branch');
  }
}

/** Leases are not implemented, so every non-zero lease is unknown. */
export class LeaseNotFoundError extends KvError {
  constructor() {
    super('etcdserver: requested lease not found', 'Lifeboat has no leases; send lease 0', GrpcCode.notFound, ExitCode.usage);
  }
}
