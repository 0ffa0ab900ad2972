// The configuration of one raft member and the status it reports.
import type { ProgressState } from './progress.js';
import type { ConfState, NodeId, RaftStorage, Role } from './types.js';

/** How a member is built. Ticks are the core's only notion of time. */
export interface RaftConfig {
  id: NodeId;
  storage: RaftStorage;
  /** Ticks without leader contact before campaigning (randomized in [electionTick, 2*electionTick)). */
  electionTick: number;
  /** Leader heartbeat period in ticks; must be below electionTick. */
  heartbeatTick: number;
  /** Injected randomness: an integer in [0, n). */
  randomInt: (n: number) => number;
  /** Last applied index when restarting. */
  applied?: number;
  /** Bytes of entry data per App message (default 1 MiB). */
  maxSizePerMsg?: number;
  /** App messages in flight per follower before pausing (default 256). */
  maxInflightMsgs?: number;
  /**
   * Bytes of proposed entry data a leader holds uncommitted before it drops new proposals
   * (default unlimited). Bounds the log a leader builds while it cannot reach a quorum.
   */
  maxUncommittedEntriesSize?: number;
  /** Bytes of committed entry data handed to the application per Ready (default unlimited). */
  maxCommittedSizePerReady?: number;
  /** A leader steps down without a quorum's contact within an election timeout (default true). */
  checkQuorum?: boolean;
  /** Campaign with a pre-vote round that does not bump terms (default true). */
  preVote?: boolean;
  logger?: { info(msg: string): void; warn(msg: string): void };
  /** Deliberately unsafe behaviour, only for the simulator's self-test that proves it can catch a broken rule. */
  testingKnobs?: { commitEntriesFromPriorTermsByCounting?: boolean };
}

/** One member's progress as the leader sees it. */
export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
}

/** A snapshot of a member's state, for tests, the simulator's checks and the server's status API. */
export interface RaftStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly leader: NodeId;
  readonly role: Role;
  readonly confState: ConfState;
  /** Leader only: every member's progress (the leader included). */
  readonly progress?: Map<NodeId, ProgressStatus>;
  /** Leader only: the member leadership is being handed to, or NO_NODE. */
  readonly leadTransferee: NodeId;
}
