import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, percentile, round } from '../../bench/lib/stats.js';

test('the median of an odd count is the middle value whatever the order', () => {
  assert.equal(median([5, 1, 3]), 3);
});

test('the median of an even count is the mean of the middle two', () => {
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

test('the median of no values is NaN rather than a made-up zero', () => {
  assert.ok(Number.isNaN(median([])));
});

test('percentiles use the nearest rank, so p99 of 100 samples is the 99th smallest', () => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.equal(percentile(values, 99), 99);
  assert.equal(percentile(values, 50), 50);
  assert.equal(percentile(values, 100), 100);
  assert.equal(percentile([7], 99), 7);
});

test('a percentile outside 0..100 is refused', () => {
  assert.throws(() => percentile([1], 101), RangeError);
});

test('rounding keeps three significant digits at any magnitude', () => {
  assert.equal(round(4489.123), 4489);
  assert.equal(round(12.3456), 12.3);
  assert.equal(round(0.012345), 0.0123);
});
