import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closedLoop } from '../../bench/lib/closed-loop.js';

test('the closed loop runs every operation once and never more than the in-flight limit at a time', async () => {
  const seen = new Set<number>();
  let outstanding = 0;
  let most = 0;
  const result = await closedLoop(200, 7, async (i) => {
    assert.ok(!seen.has(i), `operation ${i} ran twice`);
    seen.add(i);
    outstanding++;
    most = Math.max(most, outstanding);
    await new Promise((res) => setImmediate(res));
    outstanding--;
  });
  assert.equal(seen.size, 200);
  assert.equal(most, 7);
  assert.equal(result.ops, 200);
  assert.ok(result.opsPerSecond > 0 && result.p99Ms >= result.p50Ms);
});

test('the closed loop rejects with the first failure and starts nothing after it', async () => {
  let started = 0;
  await assert.rejects(
    closedLoop(1000, 4, async (i) => {
      started++;
      await new Promise((res) => setImmediate(res));
      if (i === 10) throw new Error('boom at 10');
    }),
    /boom at 10/,
  );
  assert.ok(started < 1000, `${started} operations started after a failure`);
});

test('a time-bounded loop starts nothing after its deadline and reports only what completed', async () => {
  let started = 0;
  // Each operation waits for a real timer, so 100,000 of them cannot finish inside the bound.
  const result = await closedLoop(100_000, 2, async () => {
    started++;
    await new Promise((res) => setTimeout(res, 1));
  }, 0.2);
  assert.ok(result.ops < 100_000);
  assert.equal(result.ops, started);
  assert.ok(Number.isFinite(result.p99Ms));
});
