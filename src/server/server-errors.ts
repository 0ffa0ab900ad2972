// Errors the member returns to API callers. Each carries the gRPC code and the exact message text
// etcd 3.4 uses (api/v3rpc/rpctypes), so the HTTP layer can answer the way etcd's gateway does.
import { ExitCode, LifeboatError } from '../errors.js';

/** gRPC status codes that the member uses. */
export const GrpcCode = {
  canceled: 1,
  invalidArgument: 3,
  deadlineExceeded: 4,
  notFound: 5,
  alreadyExists: 6,
  resourceExhausted: 8,
  failedPrecondition: 9,
  aborted: 10,
  outOfRange: 11,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  dataLoss: 15,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/** An error with a gRPC code and etcd's message text; the API maps `code` to the HTTP status. */
export class GrpcError extends LifeboatError {
  readonly code: GrpcCode;
  constructor(code: GrpcCode, message: string, hint: string, options?: { cause?: unknown }) {
    super(message, hint, code === GrpcCode.unavailable ? ExitCode.clusterUnavailable : ExitCode.failure, options);
    this.code = code;
  }
  /** The same code under the name KvError (src/kv/kv-errors.ts) uses, so the API can treat both alike. */
  get grpcCode(): GrpcCode {
    return this.code;
  }
}

/** The member knows no leader (election under way, or it is cut off from a quorum). */
export class NoLeaderError extends GrpcError {
  constructor() {
    super(GrpcCode.unavailable, 'etcdserver: no leader', 'wait for an election to finish, or check that a quorum of members is up and reachable');
  }
}

/** A proposal or read did not complete in time (etcd's ErrTimeout). */
export class RequestTimeoutError extends GrpcError {
  constructor(reason: 'plain' | 'leader-fail' | 'connection-lost' = 'plain') {
    const text =
      reason === 'leader-fail'
        ? 'etcdserver: request timed out, possibly due to previous leader failure'
        : reason === 'connection-lost'
          ? 'etcdserver: request timed out, possibly due to connection lost'
          : 'etcdserver: request timed out';
    super(GrpcCode.unavailable, text, 'retry; if it keeps happening, check that a quorum of members is up and reachable');
  }
}

/** The leader changed while a proposal was in flight; its outcome is unknown to this member. */
export class LeaderChangedError extends GrpcError {
  constructor() {
    super(GrpcCode.unavailable, 'etcdserver: leader changed', 'retry the request; reads are safe, writes may already have applied');
  }
}

/** The member is stopping or stopped. */
export class ServerStoppedError extends GrpcError {
  constructor() {
    super(GrpcCode.unavailable, 'etcdserver: server stopped', 'send the request to another member');
  }
}

/** Too many proposals are waiting to be committed (etcd's backpressure). */
export class TooManyRequestsError extends GrpcError {
  constructor() {
    super(GrpcCode.resourceExhausted, 'etcdserver: too many requests', 'slow down the client or retry later');
  }
}

/** A request larger than the member accepts. */
export class RequestTooLargeError extends GrpcError {
  constructor() {
    super(GrpcCode.invalidArgument, 'etcdserver: request is too large', 'split the request into smaller ones');
  }
}

/** Learners serve no linearizable requests. */
export class NotSupportedForLearnerError extends GrpcError {
  constructor() {
    super(GrpcCode.unavailable, 'etcdserver: rpc not supported for learner', 'send the request to a voting member');
  }
}

/** member remove/promote of an ID that is not in the cluster. */
export class MemberNotFoundError extends GrpcError {
  constructor() {
    super(GrpcCode.notFound, 'etcdserver: member not found', 'list the members with `lifeboat member list` and use one of their IDs');
  }
}

/** member add with a member ID that already exists. */
export class MemberExistsError extends GrpcError {
  constructor() {
    super(GrpcCode.failedPrecondition, 'etcdserver: member ID already exist', 'list the members with `lifeboat member list`');
  }
}

/** member add with peer URLs that another member already uses. */
export class PeerUrlExistsError extends GrpcError {
  constructor() {
    super(GrpcCode.failedPrecondition, 'etcdserver: Peer URLs already exists', 'use peer URLs no other member advertises');
  }
}

/** member add with malformed URLs. */
export class MemberBadUrlsError extends GrpcError {
  constructor() {
    super(GrpcCode.invalidArgument, 'etcdserver: given member URLs are invalid', 'give URLs like http://10.0.0.1:2380');
  }
}

/** promote of a member that is already a voter. */
export class MemberNotLearnerError extends GrpcError {
  constructor() {
    super(GrpcCode.failedPrecondition, 'etcdserver: can only promote a learner member', 'only learners can be promoted');
  }
}

/** promote of a learner that lags the leader. */
export class LearnerNotReadyError extends GrpcError {
  constructor() {
    super(
      GrpcCode.failedPrecondition,
      'etcdserver: can only promote a learner member which is in sync with leader',
      'wait until the learner has caught up, then promote it again',
    );
  }
}

/** A change that would leave the cluster without a quorum of started members. */
export class NotEnoughStartedMembersError extends GrpcError {
  constructor() {
    super(
      GrpcCode.failedPrecondition,
      'etcdserver: re-configuration failed due to not enough started members',
      'start the missing members first, or remove members that are gone for good one at a time',
    );
  }
}

/** A membership change is already in flight (Lifeboat allows one at a time). */
export class ConfChangeInFlightError extends GrpcError {
  constructor() {
    super(GrpcCode.failedPrecondition, 'etcdserver: unhealthy cluster', 'wait for the previous membership change to finish, then retry');
  }
}

/** The request was given up because the caller went away or asked to stop. */
export class RequestCanceledError extends GrpcError {
  constructor() {
    super(GrpcCode.canceled, 'context canceled', 'retry the request');
  }
}
