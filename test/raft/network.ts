// A tiny deterministic network for the raft unit tests: members are RawNodes over
// MemoryStorage, each Ready is handled exactly as the contract says (persist, send, apply,
// advance), and messages sit in one FIFO queue until delivered. Tests cut links, drop or
// hold messages, and tick members explicitly; nothing depends on wall-clock time.
import {
  ConfChangeType,
  decodeConfChange,
  EntryType,
  MemoryStorage,
  MessageType,
  RawNode,
  Role,
} from '../../src/raft/index.js';
import type { ConfState, Entry, Message, NodeId, RaftConfig, ReadState } from '../../src/raft/index.js';

export interface MemberOptions {
  electionTick?: number;
  heartbeatTick?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxInflightMsgs?: number;
  maxSizePerMsg?: number;
  maxUncommittedEntriesSize?: number;
  randomInt?: (n: number) => number;
  testingKnobs?: RaftConfig['testingKnobs'];
}

/** One member: its storage, its RawNode, and what it applied. */
export class Member {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  node: RawNode;
  /** Every Normal entry with data the member applied, in order. */
  readonly applied: Entry[] = [];
  appliedIndex = 0;
  readonly readStates: ReadState[] = [];
  confState: ConfState;
  /** How many Readies carried entries to persist, and how many had mustSync. */
  persists = 0;
  syncs = 0;
  snapshotsApplied = 0;
  readonly opts: MemberOptions;

  constructor(id: NodeId, storage: MemoryStorage, opts: MemberOptions, applied = 0) {
    this.id = id;
    this.storage = storage;
    this.opts = opts;
    this.confState = storage.initialState().confState;
    this.appliedIndex = applied;
    this.node = this.makeNode(applied);
  }

  makeNode(applied: number): RawNode {
    return new RawNode({
      id: this.id,
      storage: this.storage,
      electionTick: this.opts.electionTick ?? 10,
      heartbeatTick: this.opts.heartbeatTick ?? 1,
      // Distinct but reproducible timeouts per member, so that elections do not split forever.
      randomInt: this.opts.randomInt ?? seededRandomInt(idSeed(this.id)),
      preVote: this.opts.preVote,
      checkQuorum: this.opts.checkQuorum,
      maxInflightMsgs: this.opts.maxInflightMsgs,
      maxSizePerMsg: this.opts.maxSizePerMsg,
      maxUncommittedEntriesSize: this.opts.maxUncommittedEntriesSize,
      testingKnobs: this.opts.testingKnobs,
      applied,
    });
  }

  /** Restarts the member from what its storage holds (volatile state is lost). */
  restart(): void {
    this.node = this.makeNode(this.appliedIndex);
  }

  role(): Role {
    return this.node.status().role;
  }
}

/** Replaces `id`'s storage with one holding entries of `terms` (index 1..n) and hard state `term`. */
export function preload(net: Network, id: NodeId, terms: number[], term: number, commit = 0): Member {
  const old = net.get(id);
  const storage = new MemoryStorage({ snapshot: old.storage.snapshot(), hardState: { term, vote: '', commit } });
  storage.append(terms.map((t, i) => ({ term: t, index: i + 1, type: EntryType.Normal, data: new Uint8Array(0) })));
  const m = new Member(id, storage, old.opts);
  net.members.set(id, m);
  return m;
}

/** The terms of the entries `id` has persisted, index 1 onwards. */
export function persistedTerms(m: Member): number[] {
  const out: number[] = [];
  for (let i = m.storage.firstIndex(); i <= m.storage.lastIndex(); i++) out.push(m.storage.term(i));
  return out;
}

/** A message filter: return true to drop the message. */
export type Filter = (m: Message) => boolean;

/** The in-test cluster and its network. */
export class Network {
  readonly members = new Map<NodeId, Member>();
  /** Messages sent and not yet delivered, in send order. */
  queue: Message[] = [];
  /** Every message ever sent, for assertions about what travelled. */
  readonly sent: Message[] = [];
  private readonly cut = new Set<string>();
  filters: Filter[] = [];
  /** Whether delivering a Snap reports success to its sender, as a server does. */
  reportSnapshots = true;
  /** Rewrites a message on delivery (for example to cut an App's entries short). */
  rewrite: ((m: Message) => Message) | undefined;

  /** Builds a brand-new cluster of `ids`, all voters (the bootstrap convention), plus `learners`. */
  constructor(ids: NodeId[], opts: MemberOptions = {}, learners: NodeId[] = []) {
    const confState = { voters: ids, learners };
    for (const id of [...ids, ...learners]) {
      const storage = new MemoryStorage({ snapshot: { metadata: { index: 0, term: 0, confState } } });
      this.members.set(id, new Member(id, storage, opts));
    }
  }

  /** Adds a member that joins an existing cluster: empty configuration, learns from the leader. */
  addJoiner(id: NodeId, opts: MemberOptions = {}): Member {
    const m = new Member(id, new MemoryStorage(), opts);
    this.members.set(id, m);
    return m;
  }

  get(id: NodeId): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  /** Handles every pending Ready of `id`, as the contract prescribes. */
  process(id: NodeId): void {
    const mem = this.get(id);
    while (mem.node.hasReady()) {
      const rd = mem.node.ready();
      // 1. persist
      if (rd.snapshot) mem.storage.applySnapshot(rd.snapshot);
      if (rd.entries.length > 0) {
        mem.storage.append(rd.entries);
        mem.persists++;
      }
      if (rd.hardState) mem.storage.setHardState(rd.hardState);
      if (rd.mustSync) mem.syncs++;
      // 2. send
      for (const m of rd.messages) {
        this.sent.push(m);
        this.queue.push(m);
      }
      // 3. apply
      if (rd.snapshot) {
        // The tests' state machine is the list of applied entries; a snapshot carries it inline.
        mem.appliedIndex = rd.snapshot.metadata.index;
        mem.confState = rd.snapshot.metadata.confState;
        mem.applied.length = 0;
        for (const e of (rd.snapshot.data as Entry[] | undefined) ?? []) mem.applied.push(e);
        mem.snapshotsApplied++;
      }
      for (const e of rd.committedEntries) {
        if (e.type === EntryType.ConfChange) {
          mem.confState = mem.node.applyConfChange(decodeConfChange(e.data));
          mem.storage.setConfState(mem.confState);
        } else if (e.data.length > 0) {
          mem.applied.push(e);
        }
        mem.appliedIndex = e.index;
      }
      // 4. reads
      for (const rs of rd.readStates) mem.readStates.push(rs);
      mem.node.advance(rd);
    }
  }

  processAll(): void {
    for (const id of this.members.keys()) this.process(id);
  }

  /** Has `id` snapshot its state at its applied index and compact its log up to there. */
  snapshotAndCompact(id: NodeId): void {
    const mem = this.get(id);
    mem.storage.createSnapshot(mem.appliedIndex, mem.confState, mem.applied.slice());
    mem.storage.compact(mem.appliedIndex);
  }

  /** Whether a message from `from` to `to` is currently lost. */
  private dropped(m: Message): boolean {
    if (this.cut.has(`${m.from}>${m.to}`)) return true;
    return this.filters.some((f) => f(m));
  }

  /** Delivers queued messages (and the ones they cause) until the network is quiet. */
  stabilize(maxRounds = 10_000): void {
    this.processAll();
    for (let round = 0; this.queue.length > 0; round++) {
      if (round >= maxRounds) throw new Error('network did not stabilize');
      this.deliverOne();
    }
  }

  /** Delivers (or drops) the oldest queued message; returns it. */
  deliverOne(): Message | undefined {
    return this.deliverAt(0);
  }

  /** Delivers (or drops) the queued message at position `i`, out of order; returns it. */
  deliverAt(i: number): Message | undefined {
    const m = this.queue.splice(i, 1)[0];
    if (!m) return undefined;
    const to = this.members.get(m.to);
    if (to && !this.dropped(m)) {
      to.node.step(this.rewrite ? this.rewrite(m) : m);
      this.process(m.to);
      // As a server does once a snapshot stream completes: tell the sender it arrived.
      const from = this.members.get(m.from);
      if (m.type === MessageType.Snap && from && this.reportSnapshots) {
        from.node.reportSnapshot(m.to, true);
        this.process(m.from);
      }
    }
    return m;
  }

  /** Drops every queued message. */
  dropQueued(): void {
    this.queue = [];
  }

  /** Cuts both directions between `a` and `b`. */
  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}>${b}`);
    this.cut.add(`${b}>${a}`);
  }

  /** Cuts one direction only. */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  /** Isolates `id` from every other member. */
  isolate(id: NodeId): void {
    for (const other of this.members.keys()) if (other !== id) this.cutLink(id, other);
  }

  /** Heals every cut link and removes every filter. */
  heal(): void {
    this.cut.clear();
    this.filters = [];
    this.rewrite = undefined;
  }

  /** Ticks `id` `n` times, processing its Readies (messages are queued, not delivered). */
  tick(id: NodeId, n = 1): void {
    const mem = this.get(id);
    for (let i = 0; i < n; i++) {
      mem.node.tick();
      this.process(id);
    }
  }

  /** Ticks every member once and delivers everything. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const id of this.members.keys()) this.tick(id);
      this.stabilize();
    }
  }

  /** Makes `id` campaign and delivers until quiet. */
  elect(id: NodeId): void {
    this.get(id).node.campaign();
    this.stabilize();
  }

  /** Proposes `text` at `id` and delivers until quiet. */
  propose(id: NodeId, text: string): void {
    this.get(id).node.propose(bytes(text));
    this.stabilize();
  }

  /** The members that think they are leader. */
  leaders(): NodeId[] {
    return [...this.members.values()].filter((m) => m.role() === Role.Leader).map((m) => m.id);
  }

  /** Ticks everyone until `cond` holds, failing after `limit` rounds. */
  tickUntil(cond: () => boolean, limit = 1000): void {
    for (let i = 0; i < limit; i++) {
      if (cond()) return;
      this.tickAll();
    }
    if (!cond()) throw new Error('condition not reached');
  }

  /** Messages of `type` that were sent, optionally only to `to`. */
  sentOf(type: MessageType, to?: NodeId): Message[] {
    return this.sent.filter((m) => m.type === type && (to === undefined || m.to === to));
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** UTF-8 bytes of `s`. */
export function bytes(s: string): Uint8Array {
  return enc.encode(s);
}

/** The texts of the applied entries of a member. */
export function appliedTexts(m: Member): string[] {
  return m.applied.map((e) => dec.decode(e.data));
}

function idSeed(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** A deterministic PRNG (mulberry32) for tests that need varied election timeouts. */
export function seededRandomInt(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.floor(r * n);
  };
}

export { ConfChangeType };
