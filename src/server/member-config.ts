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

/** Defaults that match etcd 3.4's. */
export const MEMBER_DEFAULTS = {
  // Each local snapshot rewrites the whole key-value state; at 10,000 a member holding 200,000
  // keys of 1 KiB rewrote ~240 MB every 10,000 puts and stalled writes for seconds (measured).
  snapshotCount: 100_000,
  snapshotCatchUpEntries: 5_000,
  heartbeatMs: 100,
  electionMs: 1_000,
} as const;

/** etcd's request timeout: 5 s plus two election timeouts. */
export function defaultRequestTimeout(electionMs: number): number {
  return 5_000 + 2 * electionMs;
}
