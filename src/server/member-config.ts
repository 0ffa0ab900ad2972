// Everything a member is built from: its identity, addresses and tuning, as `lifeboat serve` resolved them.

/** A member's resolved configuration. */
export interface MemberConfig {
  readonly name: string;
  readonly dataDir: string;
  /** 16 hex digits. */
  readonly clusterId: string;
  /** 16 hex digits. */
  readonly memberId: string;
  readonly clusterToken: string;
  readonly listenPeerUrls: readonly string[];
  readonly advertisePeerUrls: readonly string[];
  readonly advertiseClientUrls: readonly string[];
  /** Applied entries between local snapshots. */
  readonly snapshotCount: number;
  /** Log entries kept behind a local snapshot for slow followers (etcd's 5000). */
  readonly snapshotCatchUpEntries: number;
  readonly heartbeatMs: number;
  readonly electionMs: number;
  /** How long a proposal or linearizable read may wait before failing with a timeout. */
  readonly requestTimeoutMs: number;
  readonly version: string;
  log(line: string): void;
}

/** Defaults that match etcd's. */
export const MEMBER_DEFAULTS = {
  snapshotCount: 10_000,
  snapshotCatchUpEntries: 5_000,
  heartbeatMs: 100,
  electionMs: 1_000,
} as const;

/** etcd's request timeout: 5 s plus two election timeouts. */
export function defaultRequestTimeout(electionMs: number): number {
  return 5_000 + 2 * electionMs;
}
