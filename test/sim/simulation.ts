// The world of one seed: members, clients, the network and the fault schedule, advanced in
// discrete time units by a single loop with no real timers. A run has a fault phase (faults
// drawn from the seed), then a liveness phase (faults stop; the cluster must converge within a
// bound), then the client history is checked for linearizability.

import { ConfChangeType, MessageType, type ConfChange, type ConfState, type Message, type NodeId } from '../../src/raft/types.js';
import { Prng } from './prng.js';
import { TraceHash } from './trace-hash.js';
import { SimNetwork } from './network.js';
import { drawFaultPlan, type FaultClass, type FaultPlan } from './fault-plan.js';
import type { SeedResult, SimOptions } from './sim-options.js';
import { SimDisk } from './sim-disk.js';
import { DurableState } from './durable-state.js';
import { WalDisk, WalDurableState } from './wal-durable-state.js';
import { SimMember, inConf, type ClientReply, type CrashPoint, type MemberEnv } from './sim-member.js';
import { SafetyMonitor, SafetyViolation } from './safety-monitor.js';
import { HistoryRecorder } from './history.js';
import { checkLinearizable } from './linearizability.js';
import { ClientFleet, type ClientRequest } from './sim-clients.js';
import { describeMessage } from './describe-message.js';
import { convergenceProblem } from './convergence.js';

type Payload =
  | { readonly kind: 'raft'; readonly msg: Message }
  | ClientRequest
  | { readonly kind: 'resp'; readonly reply: ClientReply };

/** Simulated time units per raft tick; network delays are in units, so several fit in a tick. */
const TICK_UNITS = 10;
const ELECTION_TICK = 10;
const CLIENT_TIMEOUT_UNITS = 50 * TICK_UNITS;
const CRASH_POINTS: readonly CrashPoint[] = ['before-persist', 'torn-persist', 'io-error', 'after-persist', 'after-send', 'after-apply'];

/** Formats member number n as a 16-hex-digit raft ID. */
export function memberId(n: number): NodeId {
  return (0x1000 + n).toString(16).padStart(16, '0');
}

export type { SeedResult, SimOptions } from './sim-options.js';

/** Runs one seed to completion and reports the first violation, if any. */
export function runSeed(options: SimOptions): SeedResult {
  return new Simulation(options).run();
}

class Simulation {
  private readonly rng: Prng;
  private readonly plan: FaultPlan;
  private readonly classes: FaultClass[];
  private readonly hash = new TraceHash();
  private readonly monitor = new SafetyMonitor();
  private readonly history = new HistoryRecorder();
  private readonly net: SimNetwork<Payload>;
  private readonly members = new Map<NodeId, SimMember>();
  private readonly ids: NodeId[] = [];
  private readonly clients: ClientFleet;
  private readonly tickPhase = new Map<NodeId, number>();
  /** Units between ticks, per member: differing periods model clocks running at different rates. */
  private readonly tickPeriod = new Map<NodeId, number>();
  private readonly restartAt = new Map<NodeId, number>();
  private readonly resumeAt = new Map<NodeId, number>();
  private readonly deferred: (() => void)[] = [];
  private readonly walDisks = new Map<NodeId, WalDisk>();
  private timed: { at: number; run: () => void }[] = [];
  private readonly trace: string[] = [];
  /** Members that applied their own removal, waiting for the new configuration to apply it. */
  private readonly retiring = new Map<NodeId, { index: number }>();
  private healAt = -1;
  private churnUntil = -1;
  private now = 0;
  private faulting = true;
  private readonly stats: Record<string, number> = {
    delivered: 0, crashes: 0, readyCrashes: 0, pauses: 0, partitions: 0, confChanges: 0,
    transfers: 0, snapshotsSent: 0, ops: 0, okOps: 0, unknownOps: 0, units: 0,
  };

  constructor(private readonly opts: SimOptions) {
    this.rng = new Prng(opts.seed);
    this.monitor.checkCommitRule = !opts.skipCommitRuleCheck;
    const n = opts.members ?? this.rng.range(1, 7);
    if (!(n >= 1 && n <= 7)) throw new RangeError(`members must be 1..7, got ${n}`);
    const drawn = drawFaultPlan(this.rng, opts.allFaults ?? false);
    this.plan = { ...drawn.plan, ...opts.plan };
    this.classes = drawn.classes;
    this.net = new SimNetwork<Payload>(this.rng.fork(), {
      loss: this.plan.loss,
      duplicate: this.plan.duplicate,
      delayMin: this.plan.delayMin,
      delayMean: this.plan.delayMean,
    });
    // Room to add members back: up to two spares beyond the initial voters, at most 7 in all.
    const universe = Math.min(7, n + 2);
    for (let i = 1; i <= universe; i++) this.ids.push(memberId(i));
    const genesis: ConfState = { voters: this.ids.slice(0, n), learners: [] };
    const checkQuorum = this.rng.chance(0.8);
    const preVote = this.rng.chance(0.8);
    // One entry per App message now and then: it splits a new leader's old entries from its
    // no-op, the shape Raft's Figure 8 needs, and stresses the inflight window.
    const drawnSize = this.rng.pick([1, 1, 4096, 1 << 20]);
    const maxSizePerMsg = opts.maxSizePerMsg ?? drawnSize;
    const maxInflightMsgs = this.rng.pick([1, 4, 64, 256]);
    const env = this.makeEnv(checkQuorum, preVote, maxSizePerMsg, maxInflightMsgs);
    for (const id of this.ids) {
      this.members.set(id, new SimMember(id, new SimDisk(genesis), env));
      this.tickPhase.set(id, this.rng.int(TICK_UNITS));
      this.tickPeriod.set(id, TICK_UNITS + this.rng.range(-this.plan.tickSkew, this.plan.tickSkew));
    }
    for (const id of genesis.voters) this.members.get(id)!.start(this.rng.fork());
    const nClients = this.rng.range(1, 6);
    const nKeys = this.rng.range(1, 4);
    const keys = Array.from({ length: nKeys }, (_, i) => `k${i}`);
    // Client traffic may be delayed or lost but never duplicated: a duplicated put would be a
    // client retry, which a register without deduplication cannot absorb.
    this.clients = new ClientFleet(this.rng, this.history, nClients, keys, CLIENT_TIMEOUT_UNITS, (client, member, req) =>
      this.net.send(client, member, req, this.now, true, false),
    );
    this.log(`seed ${opts.seed}: ${n} voters, universe ${universe}, ${nClients} clients, ${nKeys} keys, ` +
      `checkQuorum=${checkQuorum} preVote=${preVote} maxSizePerMsg=${maxSizePerMsg} maxInflight=${maxInflightMsgs}, faults [${this.classes.join(' ')}] ${JSON.stringify(this.plan)}`);
  }

  private makeEnv(checkQuorum: boolean, preVote: boolean, maxSizePerMsg: number, maxInflightMsgs: number): MemberEnv {
    const opts = this.opts;
    return {
      maxSizePerMsg,
      maxInflightMsgs,
      monitor: this.monitor,
      hash: this.hash,
      electionTick: ELECTION_TICK,
      checkQuorum,
      preVote,
      priorTermCounting: opts.priorTermCounting ?? false,
      snapshotEvery: () => this.plan.snapshotEvery,
      compactKeep: () => this.plan.compactKeep,
      send: (msg) => this.sendRaft(msg),
      reply: (from, client, reply) => {
        this.net.send(from, client, { kind: 'resp', reply }, this.now, true, false);
      },
      crashPoint: (id) => this.drawCrashPoint(id),
      tearRng: this.rng,
      openPersistence: (id, disk, observer) => {
        if (!opts.realStorage) return DurableState.open(disk, observer);
        let wal = this.walDisks.get(id);
        if (!wal) this.walDisks.set(id, (wal = new WalDisk(this.rng.fork())));
        return WalDurableState.open(id, disk, wal, observer);
      },
      persistenceCrashed: (id) => {
        const wal = this.walDisks.get(id);
        if (wal) WalDurableState.crash(wal, this.rng);
      },
      confApplied: (id, cc, cs, index, replayed) => this.confApplied(id, cc, cs, index, replayed),
      trace: (line) => this.log(line),
      inject: {
        staleReads: opts.staleReads,
        sendBeforePersist: opts.sendBeforePersist,
        dropApply:
          opts.dropApplyOn === undefined
            ? undefined
            : (id, index) => id === memberId(opts.dropApplyOn!) && index % 7 === 3,
      },
    };
  }

  private log(line: string): void {
    if (this.opts.verbose) this.trace.push(`${String(this.now).padStart(6)} ${line}`);
  }

  run(): SeedResult {
    const faultUnits = this.opts.faultUnits ?? 8000;
    const convergeUnits = this.opts.convergeUnits ?? 8000;
    try {
      for (this.now = 0; this.now < faultUnits; this.now++) this.step();
      this.stopFaults();
      const deadline = this.now + convergeUnits;
      let converged = '';
      for (; this.now < deadline; this.now++) {
        this.step();
        if (this.now % TICK_UNITS === 0) {
          converged = this.convergence();
          if (converged === '') break;
        }
      }
      this.stats.units = this.now;
      if (converged !== '') return this.result('liveness', `no convergence within ${convergeUnits} units after faults stopped: ${converged}`);
      // Let clients' last answers arrive, then settle every open op as unknown.
      this.clients.settle();
      const ops = this.history.operations();
      this.stats.ops = ops.length;
      this.stats.unknownOps = ops.filter((o) => o.ret === Infinity).length;
      const lin = checkLinearizable(ops);
      if (lin.outcome === 'violation') {
        const bad = lin.ops.map((o) => `${o.kind}(${o.value})@${o.call}-${o.ret}`).join(' ');
        return this.result('linearizability', `key ${lin.key}: ${bad.slice(0, 2000)}`);
      }
      if (lin.outcome === 'inconclusive') this.stats.inconclusive = 1;
      return this.result(undefined, undefined);
    } catch (err) {
      if (err instanceof SafetyViolation) return this.result(err.property, err.message);
      return this.result('crash', err instanceof Error ? (err.stack ?? err.message) : String(err));
    }
  }

  private result(property: string | undefined, detail: string | undefined): SeedResult {
    this.stats.units = this.now;
    this.stats.checks = this.monitor.checks;
    this.stats.okOps = this.clients.ok;
    this.stats.committed = this.monitor.highestCommitted;
    this.hash.addString(`end:${property ?? 'ok'}`);
    if (property) this.log(`VIOLATION ${property}: ${detail}`);
    return {
      seed: this.opts.seed,
      ok: property === undefined,
      property,
      detail,
      traceHash: this.hash.hex(),
      classes: this.classes,
      stats: { ...this.stats },
      trace: this.trace,
    };
  }

  /** One time unit: deferred work, faults, deliveries, ticks, clients, Ready processing. */
  private step(): void {
    const work = this.deferred.splice(0);
    for (const w of work) w();
    if (this.timed.length > 0) {
      const due = this.timed.filter((t) => t.at <= this.now);
      if (due.length > 0) {
        this.timed = this.timed.filter((t) => t.at > this.now);
        for (const t of due) t.run();
      }
    }
    if (this.faulting) this.injectFaults();
    this.restartAndResume();
    if (this.retiring.size > 0) this.retireRemoved();
    this.deliver();
    for (const id of this.ids) {
      const m = this.members.get(id)!;
      if (m.isUp && !m.paused && (this.now + this.tickPhase.get(id)!) % this.tickPeriod.get(id)! === 0) m.tick();
    }
    this.clients.drive(this.now, this.faulting, this.plan.clientRate, this.ids);
    for (const id of this.rng.shuffle(this.ids)) {
      const m = this.members.get(id)!;
      if (!m.isUp || m.paused) continue;
      const wasLeader = m.isLeader;
      if (!m.processReady() && m.status === 'down') this.scheduleRestart(id, 'crashed in a Ready');
      else if (!wasLeader && m.isLeader && this.faulting && this.rng.chance(this.plan.crashNewLeader)) {
        const at = this.now + this.rng.range(1, 20);
        const term = m.term;
        this.deferredAt(at, () => {
          if (!m.isLeader || m.term !== term) return;
          m.crash('down');
          this.stats.crashes++;
          this.scheduleRestart(id, `crashes soon after winning term ${term}`);
        });
      }
    }
  }

  private sendRaft(msg: Message): void {
    if (msg.to === msg.from) return;
    const r = this.net.send(msg.from, msg.to, { kind: 'raft', msg }, this.now);
    if (r === 'lost' && msg.type === MessageType.Snap) {
      this.deferred.push(() => this.members.get(msg.from)?.reportSnapshot(msg.to, false));
    }
  }

  private deliver(): void {
    for (let p = this.net.nextDue(this.now); p; p = this.net.nextDue(this.now)) {
      const pl = p.payload;
      if (pl.kind === 'resp') {
        this.clients.reply(p.to, pl.reply);
        continue;
      }
      const m = this.members.get(p.to);
      if (pl.kind === 'req') {
        // A stopped process refuses the connection: the client knows nothing was done.
        if (!m || !m.isUp) this.clients.reply(p.from, { op: pl.op, kind: 'dropped' });
        if (!m || !m.isUp || m.paused) continue; // a paused one leaves the client to time out
        if (pl.get) m.clientGet(p.from, pl.op, pl.key);
        else m.clientPut(p.from, pl.clientNo, pl.op, pl.key, pl.value);
        continue;
      }
      const msg = pl.msg;
      const sender = this.members.get(msg.from);
      if (!m || !m.isUp || this.net.isBlocked(p.from, p.to)) {
        if (msg.type === MessageType.Snap) sender?.reportSnapshot(msg.to, false);
        else if (msg.type === MessageType.App && this.net.isBlocked(p.from, p.to)) sender?.reportUnreachable(msg.to);
        continue;
      }
      if (m.paused) {
        m.inbox.push(msg);
        continue;
      }
      this.stats.delivered++;
      this.hash.addString(`D${msg.from}>${msg.to}:${msg.type}:${msg.term}:${msg.logTerm}:${msg.index}:${msg.commit}:${msg.entries.length}:${msg.reject ? 1 : 0}`);
      if (this.opts.verbose) this.log(`deliver ${describeMessage(msg)}`);
      m.step(msg);
      if (msg.type === MessageType.Snap) {
        this.stats.snapshotsSent++;
        sender?.reportSnapshot(msg.to, true);
      }
    }
  }

  /** Runs `run` at the start of unit `at` (in the order scheduled). */
  private deferredAt(at: number, run: () => void): void {
    this.timed.push({ at, run });
  }

  // ---- faults ----

  private drawCrashPoint(_id: NodeId): CrashPoint {
    if (!this.faulting || !this.rng.chance(this.plan.crashInReady)) return 'none';
    this.stats.readyCrashes++;
    return this.rng.pick(CRASH_POINTS);
  }

  private injectFaults(): void {
    const plan = this.plan;
    const rng = this.rng;
    if (this.healAt >= 0 && this.now >= this.healAt) {
      this.net.heal();
      this.healAt = -1;
      this.log('partition heals');
    }
    if (this.healAt < 0 && rng.chance(plan.partition)) this.startPartition();
    if (rng.chance(plan.crash)) {
      const up = this.ids.filter((id) => this.members.get(id)!.isUp);
      if (up.length > 0) {
        // Leaders are crashed more often than their share: their crashes exercise the most.
        const leader = this.currentLeader();
        const id = leader && rng.chance(0.4) ? leader.id : rng.pick(up);
        this.members.get(id)!.crash('down');
        this.stats.crashes++;
        this.scheduleRestart(id, 'crashes');
      }
    }
    if (rng.chance(plan.pause)) {
      const up = this.ids.filter((id) => this.members.get(id)!.isUp && !this.members.get(id)!.paused);
      if (up.length > 0) {
        const id = rng.pick(up);
        this.members.get(id)!.paused = true;
        const until = this.now + rng.range(10, plan.pauseMaxUnits);
        this.resumeAt.set(id, until);
        this.stats.pauses++;
        this.log(`${id} pauses until ${until}`);
      }
    }
    if (this.now >= this.churnUntil && rng.chance(plan.churn)) this.churn();
    if (rng.chance(plan.transfer)) this.transfer();
  }

  private startPartition(): void {
    const rng = this.rng;
    const ids = this.ids;
    const mode = rng.pick(['isolate', 'split', 'one-way'] as const);
    const leader = this.currentLeader();
    let a: NodeId[];
    if (mode === 'isolate') a = [leader && rng.chance(0.5) ? leader.id : rng.pick(ids)];
    else a = ids.filter(() => rng.chance(0.5));
    const b = ids.filter((id) => !a.includes(id));
    if (a.length === 0 || b.length === 0) return;
    for (const x of a) {
      for (const y of b) {
        this.net.block(x, y);
        if (mode !== 'one-way') this.net.block(y, x);
      }
    }
    this.healAt = this.now + rng.range(50, this.plan.partitionMaxUnits);
    this.stats.partitions++;
    this.log(`partition (${mode}) until ${this.healAt}: ${this.net.describeCuts()}`);
  }

  private scheduleRestart(id: NodeId, why: string): void {
    const until = this.now + (this.faulting ? this.rng.range(10, Math.max(10, this.plan.crashMaxUnits)) : 1);
    this.restartAt.set(id, until);
    this.log(`${id} ${why}; restarts at ${until}`);
  }

  private restartAndResume(): void {
    for (const [id, at] of this.restartAt) {
      if (at > this.now) continue;
      this.restartAt.delete(id);
      const m = this.members.get(id)!;
      if (m.status !== 'down') continue;
      m.start(this.rng.fork());
      this.log(`${id} restarts from disk: term ${m.disk.hardState.term} commit ${m.disk.hardState.commit} snapshot ${m.disk.snapshotIndex} last ${m.disk.lastIndex}`);
    }
    for (const [id, at] of this.resumeAt) {
      if (at > this.now) continue;
      this.resumeAt.delete(id);
      this.resume(id);
    }
  }

  private resume(id: NodeId): void {
    const m = this.members.get(id)!;
    if (!m.paused) return;
    m.paused = false;
    const inbox = m.inbox.splice(0);
    this.log(`${id} resumes with ${inbox.length} queued messages`);
    for (const msg of inbox) m.step(msg);
  }

  /** The up leader with the highest term, if any. */
  private currentLeader(): SimMember | undefined {
    let best: SimMember | undefined;
    for (const m of this.members.values()) if (m.isLeader && !m.paused && (!best || m.term > best.term)) best = m;
    return best;
  }

  private churn(): void {
    const leader = this.currentLeader();
    if (!leader) return;
    const cs = leader.confState;
    const rng = this.rng;
    const outside = this.ids.filter((id) => !inConf(cs, id));
    const choices: ConfChange[] = [];
    for (const id of outside) choices.push({ type: ConfChangeType.AddLearnerNode, nodeId: id });
    for (const id of cs.learners) choices.push({ type: ConfChangeType.AddNode, nodeId: id });
    for (const id of cs.learners) choices.push({ type: ConfChangeType.RemoveNode, nodeId: id });
    if (cs.voters.length > 1) for (const id of cs.voters) choices.push({ type: ConfChangeType.RemoveNode, nodeId: id });
    if (choices.length === 0) return;
    const cc = rng.pick(choices);
    const target = this.members.get(cc.nodeId)!;
    if (cc.type === ConfChangeType.AddLearnerNode && (target.status === 'unborn' || target.status === 'removed')) {
      // A new member starts empty; a removed one comes back with the disk it kept.
      target.start(rng.fork());
      this.log(`${cc.nodeId} starts to join (${target.disk.lastIndex > 0 ? 'with its old disk' : 'empty'})`);
    }
    const ok = leader.proposeConfChange(cc);
    this.stats.confChanges++;
    this.churnUntil = this.now + 50 * TICK_UNITS;
    this.log(`${leader.id} proposes ${ConfChangeType[cc.type]} ${cc.nodeId}${ok ? '' : ' (refused)'}`);
  }

  private confApplied(by: NodeId, cc: ConfChange, _cs: ConfState, index: number, replayed: boolean): void {
    const target = this.members.get(cc.nodeId);
    if (!target) return;
    if (cc.type === ConfChangeType.RemoveNode) {
      // A member that applied its own removal stays up until the rest of the new configuration
      // has applied it too (an operator decommissions it only then); stopping at once could
      // leave a survivor that never learns the removal was committed and waits for its vote.
      if (by === cc.nodeId && !replayed && !this.retiring.has(by)) {
        this.retiring.set(by, { index });
        this.log(`${by} applied its own removal at ${index}; it retires once the others have applied it`);
      }
      return;
    }
    this.retiring.delete(cc.nodeId);
    // A member that was decommissioned, then added back: it runs again with the disk it kept.
    if (target.status === 'removed') {
      this.deferred.push(() => {
        if (target.status !== 'removed') return;
        target.start(this.rng.fork());
        this.log(`${target.id} restarts after being added back`);
      });
    }
  }

  private retireRemoved(): void {
    const leader = this.currentLeader();
    if (!leader) return;
    for (const [id, r] of this.retiring) {
      if (leader.applied < r.index) continue;
      // Added back since (and perhaps replaying its old removal on the way): it stays.
      if (inConf(leader.confState, id)) {
        this.retiring.delete(id);
        continue;
      }
      const done = leader.confState.voters.every((v) => {
        const m = this.members.get(v)!;
        return m.isUp && m.applied >= r.index;
      });
      if (!done) continue;
      this.retiring.delete(id);
      const m = this.members.get(id)!;
      if (m.status === 'up' || m.status === 'down') {
        m.crash('removed');
        this.restartAt.delete(id);
        this.resumeAt.delete(id);
        this.log(`${id} is decommissioned`);
      }
    }
  }

  private transfer(): void {
    const leader = this.currentLeader();
    if (!leader) return;
    const voters = leader.confState.voters.filter((id) => id !== leader.id);
    if (voters.length === 0) return;
    const to = this.rng.pick(voters);
    this.stats.transfers++;
    this.log(`${leader.id} is asked to transfer leadership to ${to}`);
    leader.transferLeader(to);
  }

  private stopFaults(): void {
    this.faulting = false;
    this.net.heal();
    this.healAt = -1;
    this.net.faults = { loss: 0, duplicate: 0, delayMin: 1, delayMean: 2 };
    for (const id of this.ids) {
      const m = this.members.get(id)!;
      if (m.status === 'down') this.restartAt.set(id, this.now);
      if (m.paused) this.resumeAt.set(id, this.now);
    }
    this.log('faults stop; the cluster must converge');
  }

  // ---- liveness ----

  /** '' when converged; otherwise why not yet. */
  private convergence(): string {
    return convergenceProblem(this.members, this.currentLeader());
  }
}
