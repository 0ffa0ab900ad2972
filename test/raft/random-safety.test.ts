// A small randomized check of the core's safety properties over the in-test network:
// messages are reordered, dropped and duplicated, members tick unevenly, crash and restart
// from what they persisted, and leaders change. After every step the checks below must hold.
// (The cluster simulator in test/sim goes much further; this keeps the core honest on its own.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Role } from '../../src/raft/index.js';
import { bytes, Network, seededRandomInt } from './network.js';

function runSeed(seed: number, steps: number, unsafe = false): { commits: number } {
  const rnd = seededRandomInt(seed);
  const ids = ['a', 'b', 'c', 'd', 'e'].slice(0, 3 + rnd(3));
  const net = new Network(ids, {
    electionTick: 10,
    heartbeatTick: 2,
    maxInflightMsgs: 1 + rnd(8),
    maxSizePerMsg: rnd(2) ? 0 : 1 << 20,
    testingKnobs: { commitEntriesFromPriorTermsByCounting: unsafe },
  });
  const leaderOfTerm = new Map<number, string>();
  const committedTerm = new Map<number, number>();
  let proposals = 0;
  const dec = new TextDecoder();

  const check = (): void => {
    for (const m of net.members.values()) {
      const st = m.node.status();
      if (st.role === Role.Leader) {
        const prev = leaderOfTerm.get(st.term);
        assert.ok(prev === undefined || prev === m.id, `seed ${seed}: two leaders in term ${st.term}: ${prev} and ${m.id}`);
        leaderOfTerm.set(st.term, m.id);
      }
      // A committed index keeps its term forever, on every member.
      for (let i = Math.max(m.storage.firstIndex(), st.commit - 3); i <= st.commit; i++) {
        if (i > m.storage.lastIndex()) break;
        const t = m.storage.term(i);
        const seen = committedTerm.get(i);
        assert.ok(seen === undefined || seen === t, `seed ${seed}: committed index ${i} changed term ${seen} -> ${t} on ${m.id}`);
        committedTerm.set(i, t);
      }
    }
    // Applied sequences are prefixes of one another (state machine safety).
    const seqs = [...net.members.values()].map((m) => m.applied.map((e) => dec.decode(e.data)));
    const longest = seqs.reduce((a, b) => (a.length >= b.length ? a : b));
    for (const s of seqs) assert.deepEqual(s, longest.slice(0, s.length), `seed ${seed}: applied logs diverge`);
  };

  for (let step = 0; step < steps; step++) {
    const r = rnd(100);
    if (r < 45 && net.queue.length > 0) {
      const i = rnd(Math.min(net.queue.length, 4)); // mostly in order, sometimes reordered
      if (rnd(10) === 0) net.queue.splice(i, 1); // lost
      else {
        if (rnd(20) === 0) net.queue.push(net.queue[i]!); // duplicated
        net.deliverAt(i);
      }
    } else if (r < 80) {
      net.tick(ids[rnd(ids.length)]!);
    } else if (r < 92) {
      const leader = net.leaders()[0];
      if (leader) {
        try {
          net.get(leader).node.propose(bytes(`p${proposals++}`));
          net.process(leader);
        } catch {
          // dropped during a transfer: fine
        }
      }
    } else if (r < 96) {
      // Crash and restart: volatile state is lost, persisted state (MemoryStorage) survives.
      const m = net.get(ids[rnd(ids.length)]!);
      net.queue = net.queue.filter((msg) => msg.to !== m.id);
      m.restart();
    } else if (r < 97) {
      const leader = net.leaders()[0];
      if (leader) {
        net.get(leader).node.transferLeader(ids[rnd(ids.length)]!);
        net.process(leader);
      }
    } else {
      // Re-partition: heal, or isolate one member, or split the members into two sides.
      net.heal();
      const kind = rnd(3);
      if (kind === 1) net.isolate(ids[rnd(ids.length)]!);
      if (kind === 2) {
        const side = ids.filter(() => rnd(2) === 0);
        for (const x of side) for (const y of ids) if (!side.includes(y)) net.cutLink(x, y);
      }
    }
    check();
  }
  // Liveness: with the network healed and quiet, the cluster elects a leader and commits.
  net.heal();
  net.tickUntil(() => net.leaders().length === 1 && net.get(net.leaders()[0]!).node.status().leadTransferee === '', 500);
  const leader = net.leaders()[0]!;
  net.propose(leader, 'final');
  net.tickAll(3);
  check();
  for (const m of net.members.values()) {
    assert.equal(dec.decode(m.applied[m.applied.length - 1]!.data), 'final', `seed ${seed}: ${m.id} did not converge`);
  }
  return { commits: net.get(leader).node.status().commit };
}

test('under reordering, loss, duplication, restarts and transfers no two leaders share a term and committed entries never change', () => {
  let commits = 0;
  for (let seed = 1; seed <= 40; seed++) commits += runSeed(seed, 1500).commits;
  assert.ok(commits > 40 * 5, `too little progress to mean anything (${commits} commits)`);
});

test('the same randomized check catches a core that commits earlier-term entries by counting', () => {
  // Proves the checks above can fail: with the Figure 8 rule switched off, some seed breaks them.
  let caught: string | undefined;
  for (let seed = 1; seed <= 400 && caught === undefined; seed++) {
    try {
      runSeed(seed, 1500, true);
    } catch (e) {
      caught = (e as Error).message;
    }
  }
  assert.match(caught ?? 'nothing caught', /committed index \d+ changed term|applied logs diverge|did not converge/);
});
