// A closed-loop load driver: keeps exactly `inFlight` operations outstanding until `total` have
// completed, and records each one's latency. This is how etcd's own `benchmark` tool drives load
// (a fixed number of clients, each sending its next request when the last one answers).
import { percentile } from './stats.js';

/** What one closed-loop run measured. */
export interface LoopResult {
  readonly ops: number;
  readonly inFlight: number;
  readonly seconds: number;
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * Runs op(0..total-1) with inFlight outstanding at a time; the first failure stops the run and
 * rejects. With maxSeconds, no operation starts after that long (those in flight finish), so a
 * slow configuration still ends in bounded time and reports over the operations it completed.
 */
export async function closedLoop(total: number, inFlight: number, op: (i: number) => Promise<unknown>, maxSeconds = Infinity): Promise<LoopResult> {
  const latencies = new Float64Array(total);
  let next = 0;
  let done = 0;
  let failed: unknown;
  const stopAt = process.hrtime.bigint() + (Number.isFinite(maxSeconds) ? BigInt(Math.round(maxSeconds * 1e9)) : 1n << 62n);
  const worker = async (): Promise<void> => {
    while (failed === undefined) {
      if (process.hrtime.bigint() >= stopAt) return;
      const i = next++;
      if (i >= total) return;
      const t0 = process.hrtime.bigint();
      try {
        await op(i);
      } catch (err) {
        failed ??= err;
        return;
      }
      latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6;
      done++;
    }
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (failed !== undefined) throw failed;
  // Operations complete out of order near the end, but every started one finished: 0..next-1.
  const all = Array.from(latencies.subarray(0, Math.min(next, total)));
  return {
    ops: done,
    inFlight,
    seconds,
    opsPerSecond: done / seconds,
    p50Ms: percentile(all, 50),
    p99Ms: percentile(all, 99),
    maxMs: percentile(all, 100),
  };
}
