import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyRetention, isoWeek, type RetentionCandidate } from '../../src/repo/retention.js';
import { parseDuration } from '../../src/duration.js';
import { ExitCode, LifeboatError } from '../../src/errors.js';

function snap(iso: string, clusterId = 'aaaa', verified = true): RetentionCandidate {
  return { id: `${iso}-${clusterId}`, createdAt: new Date(iso), clusterId, verified };
}

/** Hourly snapshots from `start`, `count` of them. */
function hourly(start: string, count: number, clusterId = 'aaaa'): RetentionCandidate[] {
  const t0 = new Date(start).getTime();
  return Array.from({ length: count }, (_, i) => snap(new Date(t0 + i * 3_600_000).toISOString(), clusterId));
}

function keptIds(decisions: { snapshot: RetentionCandidate; keep: boolean }[]): string[] {
  return decisions.filter((d) => d.keep).map((d) => d.snapshot.createdAt.toISOString());
}

test('keep-last keeps exactly the newest N snapshots', () => {
  const set = hourly('2026-11-20T00:00:00Z', 10);
  const kept = keptIds(applyRetention(set, { keepLast: 3 }));
  assert.deepEqual(kept, ['2026-11-20T09:00:00.000Z', '2026-11-20T08:00:00.000Z', '2026-11-20T07:00:00.000Z']);
});

test('keep-daily keeps the newest snapshot of each of the last N days in UTC', () => {
  const set = hourly('2026-11-20T00:00:00Z', 24 * 4); // four whole days
  const kept = keptIds(applyRetention(set, { keepDaily: 3 }));
  assert.deepEqual(kept, ['2026-11-23T23:00:00.000Z', '2026-11-22T23:00:00.000Z', '2026-11-21T23:00:00.000Z']);
});

test('keep-hourly counts hours that have a snapshot, skipping empty hours', () => {
  const set = [snap('2026-11-20T10:05:00Z'), snap('2026-11-20T10:35:00Z'), snap('2026-11-20T07:00:00Z'), snap('2026-11-20T03:00:00Z')];
  const kept = keptIds(applyRetention(set, { keepHourly: 2 }));
  assert.deepEqual(kept, ['2026-11-20T10:35:00.000Z', '2026-11-20T07:00:00.000Z']);
});

test('keep-weekly uses ISO weeks that start on Monday', () => {
  // 2026-11-22 is a Sunday, 2026-11-23 a Monday.
  const set = [snap('2026-11-23T01:00:00Z'), snap('2026-11-22T23:00:00Z'), snap('2026-11-16T01:00:00Z'), snap('2026-11-15T01:00:00Z')];
  const kept = keptIds(applyRetention(set, { keepWeekly: 2 }));
  assert.deepEqual(kept, ['2026-11-23T01:00:00.000Z', '2026-11-22T23:00:00.000Z']);
});

test('keep-monthly keeps the newest snapshot of each month', () => {
  const set = [snap('2026-11-02T00:00:00Z'), snap('2026-11-01T00:00:00Z'), snap('2026-10-31T00:00:00Z'), snap('2026-09-30T00:00:00Z'), snap('2026-08-01T00:00:00Z')];
  const kept = keptIds(applyRetention(set, { keepMonthly: 3 }));
  assert.deepEqual(kept, ['2026-11-02T00:00:00.000Z', '2026-10-31T00:00:00.000Z', '2026-09-30T00:00:00.000Z']);
});

test('keep-within keeps everything within the window before the newest snapshot, even when backups stopped long ago', () => {
  const set = hourly('2020-01-01T00:00:00Z', 48);
  const kept = keptIds(applyRetention(set, { keepWithinMs: parseDuration('5h', '--keep-within') }));
  assert.equal(kept.length, 6);
  assert.equal(kept[0], '2020-01-02T23:00:00.000Z');
  assert.equal(kept[5], '2020-01-02T18:00:00.000Z');
});

test('a snapshot kept by several rules lists every reason', () => {
  const set = hourly('2026-11-20T00:00:00Z', 3);
  const newest = applyRetention(set, { keepLast: 1, keepDaily: 1, keepMonthly: 1 })[0]!;
  assert.deepEqual(newest.reasons, ['last 1', 'daily 2026-11-20', 'monthly 2026-11', 'newest verified']);
});

test('the newest verified snapshot is always kept, even when no rule would keep it', () => {
  const set = [snap('2026-11-20T05:00:00Z', 'aaaa', false), snap('2026-11-20T04:00:00Z', 'aaaa', true), snap('2026-11-20T03:00:00Z')];
  const decisions = applyRetention(set, { keepLast: 1 });
  assert.deepEqual(keptIds(decisions), ['2026-11-20T05:00:00.000Z', '2026-11-20T04:00:00.000Z']);
  assert.deepEqual(decisions[1]!.reasons, ['newest verified']);
});

test('retention is decided per cluster, so one cluster never prunes another', () => {
  const set = [...hourly('2026-11-20T00:00:00Z', 5, 'aaaa'), ...hourly('2026-11-10T00:00:00Z', 5, 'bbbb')];
  const decisions = applyRetention(set, { keepLast: 2 });
  const keptPerCluster = (id: string) => decisions.filter((d) => d.keep && d.snapshot.clusterId === id).length;
  assert.equal(keptPerCluster('aaaa'), 2);
  assert.equal(keptPerCluster('bbbb'), 2);
});

test('a policy that keeps nothing is refused as unsafe', () => {
  for (const policy of [{}, { keepLast: 0 }, { keepDaily: 0, keepWithinMs: 0 }]) {
    assert.throws(() => applyRetention(hourly('2026-11-20T00:00:00Z', 3), policy), (err: unknown) => {
      assert.ok(err instanceof LifeboatError);
      assert.equal(err.exitCode, ExitCode.unsafe);
      assert.match(err.hint, /--keep-last/);
      return true;
    });
  }
});

test('negative or fractional counts are usage errors that name the flag', () => {
  assert.throws(() => applyRetention([], { keepDaily: -1 }), (err: unknown) => err instanceof LifeboatError && err.exitCode === ExitCode.usage && /--keep-daily/.test(err.message));
  assert.throws(() => applyRetention([], { keepLast: 1.5 }), (err: unknown) => err instanceof LifeboatError && /--keep-last/.test(err.message));
});

test('a large mixed policy over a year of hourly snapshots keeps the expected number', () => {
  const set = hourly('2025-11-25T00:00:00Z', 24 * 365);
  const kept = applyRetention(set, { keepLast: 5, keepHourly: 24, keepDaily: 7, keepWeekly: 4, keepMonthly: 12 }).filter((d) => d.keep);
  // last 5 and 24 hourly overlap (the newest 24 hours); 7 daily adds 6 older days; 4 weekly and 12 monthly add the rest.
  const ids = new Set(kept.map((d) => d.snapshot.id));
  assert.ok(ids.size >= 24 + 6 && ids.size <= 24 + 6 + 4 + 12, `kept ${ids.size}`);
  for (const d of kept) assert.ok(d.reasons.length > 0);
});

test('ISO weeks at the turn of the year belong to the year of their Thursday', () => {
  assert.equal(isoWeek(new Date('2026-01-01T00:00:00Z')), '2026-W01'); // a Thursday
  assert.equal(isoWeek(new Date('2027-01-01T00:00:00Z')), '2026-W53'); // a Friday of 2026's last week
  assert.equal(isoWeek(new Date('2024-12-30T00:00:00Z')), '2025-W01'); // a Monday
});

test('durations read with units and combinations, and garbage is a usage error', () => {
  assert.equal(parseDuration('90s', '--timeout'), 90_000);
  assert.equal(parseDuration('1d12h', '--keep-within'), 36 * 3_600_000);
  assert.equal(parseDuration('2w', '--keep-within'), 14 * 86_400_000);
  for (const bad of ['', '10', 'abc', '5x', '1h garbage']) {
    assert.throws(() => parseDuration(bad, '--timeout'), (err: unknown) => err instanceof LifeboatError && err.exitCode === ExitCode.usage && /--timeout/.test(err.message));
  }
});
