// Random workloads on the faulty file system, stopped by a power cut at a random write or
// fsync: the member must come back with everything it acknowledged, plus the batch that was
// in flight either whole or not at all, and must keep working afterwards.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultyFileSystem, type CrashMode } from '../../src/storage/faulty-file-system.js';
import { MemberStorage, type MemberStorageOptions } from '../../src/storage/member-storage.js';
import { StorageFailedError } from '../../src/storage/storage-failed-error.js';
import type { Entry, HardState, SnapshotMetadata } from '../../src/raft/types.js';
import { entries, meta, plain, prng, snapshotBytes, validateTestSnapshot } from './helpers.js';

interface Model {
  snap: SnapshotMetadata | undefined;
  ents: Entry[];
  hs: HardState;
}

function clone(m: Model): Model {
  return { snap: m.snap, ents: [...m.ents], hs: m.hs };
}

function applyEntries(m: Model, batch: readonly Entry[]): void {
  for (const e of batch) {
    const first = m.ents[0]?.index ?? (m.snap?.index ?? 0) + 1;
    m.ents.length = Math.max(0, Math.min(m.ents.length, e.index - first));
    m.ents.push(e);
  }
}

function applySnapshot(m: Model, s: SnapshotMetadata, replacesLog: boolean): void {
  m.ents = replacesLog ? [] : m.ents.filter((e) => e.index > s.index);
  m.snap = s;
}

function termAt(m: Model, index: number): number {
  if (m.snap && index === m.snap.index) return m.snap.term;
  const first = m.ents[0]?.index ?? 0;
  return m.ents[index - first]?.term ?? 0;
}

function lastIndex(m: Model): number {
  return m.ents[m.ents.length - 1]?.index ?? m.snap?.index ?? 0;
}

function view(m: { snap?: SnapshotMetadata; ents: readonly Entry[]; hs: HardState }): string {
  const hs = { term: m.hs.term, vote: m.hs.vote, commit: m.hs.commit };
  return JSON.stringify({ snap: m.snap ?? null, hs, ents: plain(m.ents) });
}

type Op = { kind: 'save'; hs: HardState; ents: Entry[] } | { kind: 'snapshot'; meta: SnapshotMetadata; replacesLog: boolean };

/** The states a crash during `op` may legally leave behind: without it, or with all of it. */
function candidates(acked: Model, op: Op): Set<string> {
  const out = new Set<string>([view(acked)]);
  if (op.kind === 'save') {
    const full = clone(acked);
    applyEntries(full, op.ents);
    full.hs = op.hs;
    out.add(view(full));
  } else {
    const m = clone(acked);
    applySnapshot(m, op.meta, op.replacesLog);
    out.add(view(m));
  }
  return out;
}

function nextOp(rand: () => number, m: Model, term: { value: number }): Op {
  const commit = m.hs.commit;
  const snapIndex = m.snap?.index ?? 0;
  const last = lastIndex(m);
  if (rand() < 0.12 && commit > snapIndex) {
    // A local compaction at or below the commit index.
    const index = snapIndex + 1 + Math.floor(rand() * (commit - snapIndex));
    return { kind: 'snapshot', meta: meta(index, termAt(m, index)), replacesLog: false };
  }
  if (rand() < 0.04) {
    // A snapshot from a new leader, past this member's commit index.
    term.value++;
    return { kind: 'snapshot', meta: meta(Math.max(commit, snapIndex) + 1 + Math.floor(rand() * 20), term.value), replacesLog: true };
  }
  const floor = Math.max(commit, snapIndex);
  let start = last + 1;
  if (rand() < 0.15 && last > floor) {
    start = floor + 1 + Math.floor(rand() * (last - floor));
    term.value++;
  }
  const count = Math.floor(rand() * 9);
  const ents = count > 0 ? entries(start, start + count - 1, term.value, 1 + Math.floor(rand() * 300)) : [];
  const newLast = count > 0 ? start + count - 1 : last;
  const newCommit = Math.min(newLast, commit + Math.floor(rand() * 4));
  return { kind: 'save', hs: { term: term.value, vote: rand() < 0.5 ? '00000000000000a1' : '', commit: Math.max(commit, newCommit) }, ents };
}

function run(s: MemberStorage, m: Model, op: Op): void {
  if (op.kind === 'save') {
    s.save(op.hs, op.ents);
    applyEntries(m, op.ents);
    m.hs = op.hs;
  } else {
    s.saveSnapshotSync(op.meta, snapshotBytes(`state@${op.meta.index}`), { replacesLog: op.replacesLog });
    applySnapshot(m, op.meta, op.replacesLog);
  }
}

function recoveredView(s: MemberStorage): string {
  const r = s.recovered;
  return view({ snap: r.snapshot?.metadata, ents: r.entries, hs: r.hardState });
}

const MODES: CrashMode[] = ['drop', 'tear-last', 'sectors'];

test('after a power cut at a random write or fsync, every acknowledged write is recovered and the WAL keeps working', () => {
  let torn = 0;
  let completed = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const rand = prng(seed);
    const fs = new FaultyFileSystem({ random: prng(seed * 7919) });
    const opts: MemberStorageOptions = {
      segmentSize: [1024, 4096, 16384][seed % 3]!,
      validateSnapshot: validateTestSnapshot,
      log: () => undefined,
    };
    let s = MemberStorage.openSync(fs, '/data/m', opts);
    const model: Model = { snap: undefined, ents: [], hs: { term: 0, vote: '', commit: 0 } };
    const term = { value: 1 };
    const steps = 5 + Math.floor(rand() * 60);
    for (let i = 0; i < steps; i++) run(s, model, nextOp(rand, model, term));
    // The power cut: at one of the next operation's first few writes or fsyncs (segment
    // creation, directory fsyncs, snapshot files and releases included), or just after it.
    const op = nextOp(rand, model, term);
    const mode = MODES[Math.floor(rand() * MODES.length)]!;
    fs.crashAtNext(rand() < 0.5 ? 'write' : 'fsync', mode, undefined, undefined, Math.floor(rand() * 4));
    let allowed: Set<string>;
    try {
      run(s, model, op);
      fs.clearFaults();
      fs.crash(mode);
      allowed = new Set([view(model)]);
      completed++;
    } catch (err) {
      assert.ok(err instanceof StorageFailedError, `seed ${seed}: ${String(err)}`);
      allowed = candidates(model, op);
    }
    s = MemberStorage.openSync(fs, '/data/m', opts);
    if (s.recovered.tornBytesDropped > 0) torn++;
    const got = recoveredView(s);
    if (!allowed.has(got)) {
      assert.fail(`seed ${seed} (${mode}, ${op.kind}): recovered state is neither the acknowledged one nor that plus the whole batch in flight\n got ${got}\n acked ${view(model)}`);
    }
    // Continue from whatever was recovered, then check a clean reopen sees exactly it.
    const after: Model = { snap: s.recovered.snapshot?.metadata, ents: [...s.recovered.entries], hs: s.recovered.hardState };
    term.value = Math.max(term.value, after.hs.term) + 1;
    for (let i = 0; i < 5; i++) run(s, after, nextOp(rand, after, term));
    s.close();
    const again = MemberStorage.openSync(fs, '/data/m', opts);
    assert.equal(recoveredView(again), view(after), `seed ${seed}: reopen after recovery`);
    assert.equal(again.recovered.tornBytesDropped, 0, `seed ${seed}: a clean close leaves no torn tail`);
    again.close();
  }
  assert.ok(torn > 10, `only ${torn} runs exercised a torn tail`);
  assert.ok(completed > 10 && completed < 290, `${completed} runs crashed after their operation instead of inside it`);
});
