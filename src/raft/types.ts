// The data types of the raft core: what it reads from storage, what it emits in a Ready,
// and what travels between members. Pure data; no I/O. Everything above the core
// (storage, transport, server, simulator) speaks these types.

/**
 * A member ID: the 64-bit ID as 16 lowercase hex digits (for example "8e9e05c52164694d").
 * Strings keep IDs exact (a JS number cannot hold 64 bits) and fast as map keys.
 * The empty string means "none" (no leader, no vote).
 */
export type NodeId = string;
export const NO_NODE: NodeId = '';

export enum EntryType {
  /** A client command, or (when data is empty) the no-op a new leader appends. */
  Normal = 0,
  /** A membership change; data is encodeConfChange(ConfChange). */
  ConfChange = 1,
}

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Opaque to the core. */
  readonly data: Uint8Array;
}

/** What must be durable before the member votes or acknowledges: it survives restarts. */
export interface HardState {
  readonly term: number;
  /** Whom this member voted for in `term`; NO_NODE if nobody. */
  readonly vote: NodeId;
  readonly commit: number;
}

/** The membership a snapshot or the log establishes. Voters and learners never overlap. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMetadata {
  /** The last log index the snapshot covers (the state machine is applied through it). */
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

/**
 * A snapshot as the core sees it: its metadata, and data the core never reads.
 * The server carries the real state out of band (a streamed snapshot file, keyed by
 * index and term); the simulator may put the state machine's state inline in `data`.
 */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data?: unknown;
}

export enum ConfChangeType {
  AddNode = 0,
  RemoveNode = 1,
  AddLearnerNode = 2,
}

/** One membership change. Adding an existing learner as a node promotes it. */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  /** Opaque to the core: the server puts the member's name and URLs here. */
  readonly context?: Uint8Array;
}

export enum MessageType {
  /** Local: start an election (sent to self by tick, or by campaign()). */
  Hup = 'Hup',
  /** Local: the leader should send heartbeats. */
  Beat = 'Beat',
  /** A proposal, local or forwarded by a follower to the leader. */
  Prop = 'Prop',
  App = 'App',
  AppResp = 'AppResp',
  Vote = 'Vote',
  VoteResp = 'VoteResp',
  PreVote = 'PreVote',
  PreVoteResp = 'PreVoteResp',
  Snap = 'Snap',
  Heartbeat = 'Heartbeat',
  HeartbeatResp = 'HeartbeatResp',
  /** Local or forwarded: a ReadIndex request. */
  ReadIndex = 'ReadIndex',
  ReadIndexResp = 'ReadIndexResp',
  /** Local or forwarded to the leader: hand leadership to the member named in `from`. */
  TransferLeader = 'TransferLeader',
  /** Leader to transferee: campaign now, skipping the election timeout. */
  TimeoutNow = 'TimeoutNow',
  /** Local: the application reports a snapshot send's outcome (reject = failed). */
  SnapStatus = 'SnapStatus',
  /** Local: the application reports a peer unreachable. */
  Unreachable = 'Unreachable',
  /**
   * Leader to follower: the commit index moved. An empty App that needs no answer: the follower
   * commits up to min(commit, index) only if its log matches at index (logTerm), and says
   * nothing either way. It replaces etcd's empty App after every commit, which costs an ack.
   */
  Commit = 'Commit',
}

/**
 * A message between members (or a local input). Fields unused by a type are left at
 * their zero values: 0, NO_NODE, false, empty arrays.
 */
export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  /** App: term of the entry at `index` (the consistency check). Vote: candidate's last log term. */
  readonly logTerm: number;
  /** App: index before `entries`. AppResp: the matched (or rejected) index. Vote: last log index. */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  /** AppResp on reject: a hint for fast back-off (the follower's last index or conflict point). */
  readonly rejectHint: number;
  /** ReadIndex / Heartbeat round context; Vote: "transfer" marks a leader-transfer campaign. */
  readonly context: string;
  readonly snapshot?: Snapshot;
}

/** The outcome of a ReadIndex request: once applied >= index, reads for `context` are linearizable. */
export interface ReadState {
  readonly index: number;
  readonly context: string;
}

export enum Role {
  Follower = 'follower',
  PreCandidate = 'pre-candidate',
  Candidate = 'candidate',
  Leader = 'leader',
}

/** Volatile state worth reporting; never persisted. */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/**
 * Everything the application must do before calling advance(), in this order:
 * 1. persist `snapshot` (if any), then `entries` and `hardState` (if any), with one fsync
 *    when `mustSync` is true, and append them to the RaftStorage the core reads;
 * 2. send `messages` (only after step 1: they may acknowledge what was just persisted,
 *    and a vote must never be sent before the vote is durable);
 * 3. apply the snapshot (if any), then `committedEntries`, in order;
 * 4. serve `readStates` once the applied index reaches each one's index;
 * 5. call advance(ready).
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  readonly readStates: readonly ReadState[];
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly mustSync: boolean;
}

/**
 * The log as persisted by the application, read (never written) by the core.
 * Index 0 of the log is a dummy whose term is the snapshot's term.
 * Methods throw CompactedError / UnavailableError from ./errors.ts.
 */
export interface RaftStorage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), cut to about maxSize bytes of data but never empty when lo < hi. */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  term(index: number): number;
  lastIndex(): number;
  /** The index of the first entry still available: one past the compaction point, at most snapshot index + 1. */
  firstIndex(): number;
  snapshot(): Snapshot;
}

/** A message with the default zero fields filled in, for the core and for tests. */
export function message(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    from: NO_NODE,
    to: NO_NODE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    context: '',
    ...fields,
  };
}
