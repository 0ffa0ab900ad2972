// What the client throws. A member's answer in etcd's error shape becomes an EtcdApiError with
// the gRPC code; failures to get any answer are summarized per endpoint into one
// ClusterUnavailableError whose hint names the endpoints.
import { ClusterUnavailableError, ExitCode, LifeboatError, type ExitCode as ExitCodeType } from '../errors.js';

/** gRPC codes the client reasons about. */
export const Code = {
  canceled: 1,
  invalidArgument: 3,
  deadlineExceeded: 4,
  notFound: 5,
  resourceExhausted: 8,
  failedPrecondition: 9,
  outOfRange: 11,
  unavailable: 14,
} as const;

function exitCodeFor(grpcCode: number): ExitCodeType {
  if (grpcCode === Code.unavailable || grpcCode === Code.deadlineExceeded) return ExitCode.clusterUnavailable;
  if (grpcCode === Code.invalidArgument) return ExitCode.usage;
  return ExitCode.failure;
}

function hintFor(grpcCode: number, message: string): string {
  if (/compacted/.test(message)) return 'read at a newer revision; history below the compact revision is gone';
  if (/future revision/.test(message)) return 'ask for a revision at or below the current one (see `lifeboat endpoint status`)';
  if (/member not found/.test(message)) return 'list the members with `lifeboat member list` and use one of their IDs';
  if (/in sync with leader/.test(message)) return 'wait until the learner has caught up, then promote it again';
  if (grpcCode === Code.unavailable) return 'check that a quorum of members is up and reachable, then retry';
  if (grpcCode === Code.invalidArgument) return 'check the command\'s arguments';
  return 'see the member\'s log for details';
}

/** A member answered with etcd's error shape {"error","message","code"}. */
export class EtcdApiError extends LifeboatError {
  constructor(
    /** etcd's message text, e.g. "etcdserver: mvcc: required revision has been compacted". */
    message: string,
    readonly grpcCode: number,
    readonly httpStatus: number,
    readonly endpoint: string,
  ) {
    super(message, hintFor(grpcCode, message), exitCodeFor(grpcCode));
  }
}

/** Why one attempt at one endpoint got no usable answer. */
export type AttemptFailureKind =
  /** The connection was refused (or never established): the request surely never reached a member. */
  | 'refused'
  /** No answer within the per-request timeout: the request may have been applied. */
  | 'timeout'
  /** The connection broke after the request was sent: the outcome is unknown. */
  | 'broken'
  /** The member answered, but with a retryable error (no leader, learner, too many requests...). */
  | 'unavailable'
  /** The caller's signal was aborted. */
  | 'aborted';

/** One failed attempt; collected to explain a final ClusterUnavailableError. */
export class AttemptFailure extends Error {
  constructor(
    readonly kind: AttemptFailureKind,
    readonly endpoint: string,
    message: string,
    /** The member's answer, when there was one. */
    readonly apiError?: EtcdApiError,
  ) {
    super(message);
  }
}

/** Summarizes the attempts into the one error the user sees. */
export function unavailable(what: string, endpoints: readonly string[], failures: readonly AttemptFailure[], unknownOutcome: boolean): ClusterUnavailableError {
  const last = new Map<string, string>();
  for (const f of failures) last.set(f.endpoint, f.message);
  const detail = [...last].map(([e, m]) => `${e}: ${m}`).join('; ');
  const outcome = unknownOutcome ? ' (it may or may not have been applied)' : '';
  return new ClusterUnavailableError(
    `${what} failed${outcome}: ${detail || 'no endpoint answered'}`,
    `check that the members at ${endpoints.join(', ')} are running and reachable and that a quorum is up; pass the right ones with --endpoints`,
  );
}
