// Raft's Figure 8, scripted step by step against the real core: with the unsafe testing knob
// (commit an earlier term's entry by counting replicas) the safety monitor must report the
// committed entry being overwritten; with the knob off the same script is safe. This proves the
// simulator's checks catch the consequence of a broken commit rule, not just the rule itself.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawNode } from '../../src/raft/index.js';
import { MessageType, Role, type Message, type NodeId } from '../../src/raft/types.js';
import { SimDisk } from './sim-disk.js';
import { DurableState } from './durable-state.js';
import { SafetyMonitor, SafetyViolation } from './safety-monitor.js';
import { RegisterMachine, decodePut, encodePut } from './register-machine.js';
import { Prng } from './prng.js';

const IDS: NodeId[] = ['0000000000000001', '0000000000000002', '0000000000000003'];
const [N1, N2, N3] = IDS as [NodeId, NodeId, NodeId];

/** Three members whose every message is delivered or dropped by the script. */
class Scripted {
  readonly monitor = new SafetyMonitor();
  readonly disks = new Map<NodeId, SimDisk>();
  readonly nodes = new Map<NodeId, { node: RawNode; machine: RegisterMachine; term: number } | null>();
  pool: Message[] = [];
  private readonly rng = new Prng(1);

  constructor(private readonly knob: boolean) {
    this.monitor.checkCommitRule = false;
    // The script needs exact control over who votes, so the rules that delay votes are off.
    for (const id of IDS) {
      this.disks.set(id, new SimDisk({ voters: IDS, learners: [] }));
      this.start(id);
    }
  }

  start(id: NodeId): void {
    const disk = this.disks.get(id)!;
    const durable = DurableState.open(disk, this.monitor.observerFor(id, () => this.nodes.get(id)?.term ?? 0));
    const machine = new RegisterMachine();
    machine.restore(disk.snapshot.data as string);
    const node = new RawNode({
      id, storage: durable.storage, electionTick: 10, heartbeatTick: 1, randomInt: (n) => this.rng.int(n),
      applied: disk.snapshotIndex, maxSizePerMsg: 1, maxInflightMsgs: 8, checkQuorum: false, preVote: false,
      testingKnobs: { commitEntriesFromPriorTermsByCounting: this.knob },
    });
    const state = { node, machine, term: disk.hardState.term };
    this.nodes.set(id, state);
    (state as unknown as { durable: DurableState }).durable = durable;
  }

  crash(id: NodeId): void {
    this.nodes.set(id, null);
    this.pool = this.pool.filter((m) => m.to !== id && m.from !== id);
  }

  get(id: NodeId): RawNode {
    return this.nodes.get(id)!.node;
  }

  /** Runs every live member's Ready loop once: persist, collect messages, apply, advance. */
  processAll(): boolean {
    let any = false;
    for (const id of IDS) {
      const st = this.nodes.get(id);
      if (!st || !st.node.hasReady()) continue;
      any = true;
      const rd = st.node.ready();
      const durable = (st as unknown as { durable: DurableState }).durable;
      const wasLeader = st.node.status().role === Role.Leader;
      const before = this.disks.get(id)!.hardState.commit;
      durable.persistReady(rd);
      if (rd.hardState) st.term = rd.hardState.term;
      if (wasLeader && rd.hardState && rd.hardState.commit > before) {
        this.monitor.leaderAdvancedCommit(id, st.term, rd.hardState.commit, this.disks.get(id)!.termAt(rd.hardState.commit) ?? -1);
      }
      if (st.node.status().role === Role.Leader) this.monitor.leader(id, st.term, this.disks.get(id)!);
      this.pool.push(...rd.messages);
      for (const e of rd.committedEntries) {
        const cmd = decodePut(e.data);
        if (cmd && e.type === 0) st.machine.apply(cmd);
        this.monitor.applied(id, e, st.machine.snapshot(), st.term);
      }
      st.node.advance(rd);
    }
    return any;
  }

  /** Delivers pooled messages that `allow` accepts (dropping the rest) until nothing moves. */
  settle(allow: (m: Message) => boolean, until?: () => boolean): void {
    for (let round = 0; round < 200; round++) {
      const moved = this.processAll();
      const batch = this.pool;
      this.pool = [];
      for (const m of batch) if (this.nodes.get(m.to) && allow(m)) this.get(m.to).step(m);
      if (until?.()) return;
      if (!moved && batch.length === 0) return;
    }
  }

  role(id: NodeId): Role | undefined {
    return this.nodes.get(id)?.node.status().role;
  }
}

const among = (...ids: NodeId[]) => (m: Message) => ids.includes(m.from) && ids.includes(m.to);

function figureEight(knob: boolean): { cluster: Scripted; oldEntryTerm: number; indexOfX: number } {
  const c = new Scripted(knob);
  // Term 1: N1 leads and everyone has its no-op.
  c.get(N1).campaign();
  c.settle(() => true);
  assert.equal(c.role(N1), Role.Leader);
  // N1 appends x but nobody else hears of it, then N1 crashes.
  c.get(N1).propose(encodePut({ c: 0, o: 1, k: 'k', v: 'x' }));
  c.processAll();
  c.pool = [];
  const indexOfX = c.disks.get(N1)!.lastIndex;
  const oldEntryTerm = c.disks.get(N1)!.termAt(indexOfX)!;
  c.crash(N1);
  // N2 wins a later term with N3's vote, appends its no-op at x's index, and crashes before sending it.
  c.get(N2).campaign();
  c.settle((m) => among(N2, N3)(m) && m.type !== MessageType.App, () => c.role(N2) === Role.Leader);
  assert.equal(c.role(N2), Role.Leader);
  c.processAll();
  c.pool = [];
  assert.ok(c.disks.get(N2)!.termAt(indexOfX)! > oldEntryTerm);
  c.crash(N2);
  // N1 returns and wins again with N3's vote; it gets x (old term) onto N3 but its new no-op is lost.
  c.start(N1);
  // Its first campaign may lose on term alone (N3 already voted in it); the next one wins.
  for (let i = 0; i < 3 && c.role(N1) !== Role.Leader; i++) {
    c.get(N1).campaign();
    c.settle((m) => among(N1, N3)(m) && m.type !== MessageType.App, () => c.role(N1) === Role.Leader);
  }
  assert.equal(c.role(N1), Role.Leader);
  const newTerm = () => c.nodes.get(N1)!.term;
  const n3HasX = () => c.disks.get(N3)!.termAt(indexOfX) === oldEntryTerm;
  c.settle(
    // Probes that N3 rejects may pass; the append that would give N3 the new no-op is lost.
    (m) => among(N1, N3)(m) && !(n3HasX() && m.entries.some((e) => e.term === newTerm())),
    () => c.disks.get(N1)!.hardState.commit >= indexOfX,
  );
  c.processAll();
  c.pool = [];
  if (knob) assert.ok(c.disks.get(N1)!.hardState.commit >= indexOfX, 'the knob should have let N1 commit x by counting');
  else assert.ok(c.disks.get(N1)!.hardState.commit < indexOfX, 'x must not be committed from an earlier term');
  c.crash(N1);
  // N2 returns, wins with N3's vote (its last term is higher) and replicates its own entry at that index.
  c.start(N2);
  for (let i = 0; i < 3 && c.role(N2) !== Role.Leader; i++) {
    c.get(N2).campaign();
    c.settle((m) => among(N2, N3)(m) && m.type !== MessageType.App, () => c.role(N2) === Role.Leader);
  }
  c.settle(among(N2, N3));
  return { cluster: c, oldEntryTerm, indexOfX };
}

test('with commit-by-counting on, the monitor catches the consequence: a later leader lacks a committed entry (Figure 8)', () => {
  let caught: SafetyViolation | undefined;
  try {
    figureEight(true);
  } catch (err) {
    if (!(err instanceof SafetyViolation)) throw err;
    caught = err;
  }
  assert.ok(caught, 'the broken rule went unnoticed');
  // Whichever consequence shows first; never the direct rule check, which is off here.
  assert.ok(['leader-completeness', 'committed-entry-changed', 'state-machine-safety'].includes(caught.property), caught.message);
});

test('with the commit rule intact, the same Figure 8 script is safe and x is never committed', () => {
  const { cluster, indexOfX } = figureEight(false);
  assert.equal(cluster.role(N2), Role.Leader);
  // N2's entry, not x, is what ends up committed at that index.
  assert.ok(cluster.disks.get(N3)!.hardState.commit >= indexOfX);
  assert.notEqual(decodePut(cluster.disks.get(N3)!.entryAt(indexOfX)!.data)?.v, 'x');
});
