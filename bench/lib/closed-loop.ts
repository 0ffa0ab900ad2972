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
}

/** Runs op(0..total-1) with inFlight outstanding at a time; the first failure stops the run and rejects. */
export async function closedLoop(total: number, inFlight: number, op: (i: number) => Promise<unknown>): Promise<LoopResult> {
  const latencies = new Float64Array(total);
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (failed === undefined) {
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
    }
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (failed !== undefined) throw failed;
  const all = Array.from(latencies);
  return {
    ops: total,
    inFlight,
    seconds,
    opsPerSecond: total / seconds,
    p50Ms: percentile(all, 50),
    p99Ms: percentile(all, 99),
  };
}
