// The workloads, run the same way on either side: puts at 1, 16 and 64 in flight, linearizable
// reads at 16, the bulk load, member memory, snapshot saves and restores. Each figure is kept
// per run; the report takes medians.
import { closedLoop, type LoopResult } from './closed-loop.js';
import { cpuSeconds, memberMemory } from './processes.js';
import type { BenchSide, KvDriver } from './side.js';
import { benchKey, ValueSource } from './values.js';

/** How much work one side does. */
export interface WorkloadConfig {
  readonly runs: number;
  readonly putsPerRun: number;
  readonly readsPerRun: number;
  /** A latency row's run also ends after this long (at 1 in flight a slow side would take forever). */
  readonly maxSecondsPerRun: number;
  /** Keys of 1 KiB loaded before the snapshot rows. */
  readonly keys: number;
  readonly putInFlight: readonly number[];
  readonly readInFlight: number;
  readonly loadInFlight: number;
}

/** The row definitions: key, label, unit, direction. Labels name the sizes actually used. */
export function rowSpecs(config: WorkloadConfig): { key: string; workload: string; unit: string; better: 'higher' | 'lower'; info?: boolean }[] {
  const specs: { key: string; workload: string; unit: string; better: 'higher' | 'lower'; info?: boolean }[] = [];
  const loop = (id: string, label: string, unit: string) => {
    specs.push({ key: `${id}.rate`, workload: `${label}: throughput`, unit, better: 'higher' });
    specs.push({ key: `${id}.p50`, workload: `${label}: p50 latency`, unit: 'ms', better: 'lower' });
    specs.push({ key: `${id}.p99`, workload: `${label}: p99 latency`, unit: 'ms', better: 'lower' });
  };
  for (const c of config.putInFlight) loop(`put${c}`, `put 256 B, ${c} in flight`, 'puts/s');
  for (const c of config.putInFlight) {
    specs.push({ key: `put${c}.cpu`, workload: `put 256 B, ${c} in flight: CPU per put, 3 members together`, unit: 'ms', better: 'lower' });
  }
  const last = config.putInFlight[config.putInFlight.length - 1];
  specs.push({ key: `put${last}.clientCpu`, workload: `put 256 B, ${last} in flight: CPU per put in the client`, unit: 'ms', better: 'lower', info: true });
  loop(`get${config.readInFlight}`, `linearizable get, ${config.readInFlight} in flight`, 'reads/s');
  const n = config.keys.toLocaleString('en-US');
  specs.push({ key: 'load.rate', workload: `load ${n} keys of 1 KiB, ${config.loadInFlight} in flight`, unit: 'puts/s', better: 'higher', info: true });
  specs.push({ key: 'load.max', workload: 'load: slowest put', unit: 'ms', better: 'lower', info: true });
  specs.push({ key: 'load.failures', workload: 'load: puts that failed and were retried', unit: 'count', better: 'lower', info: true });
  specs.push({ key: 'member.rss', workload: `member holding ${n} keys: RSS after load (largest member)`, unit: 'MiB', better: 'lower' });
  specs.push({ key: 'member.hwm', workload: `member holding ${n} keys: peak RSS, VmHWM (largest member)`, unit: 'MiB', better: 'lower' });
  specs.push({ key: 'save.rate', workload: `snapshot save of ${n} x 1 KiB, compressed, to local disk`, unit: 'MB/s of KV data', better: 'higher' });
  specs.push({ key: 'save.rss', workload: 'snapshot save: peak RSS of the saving process', unit: 'MiB', better: 'lower' });
  specs.push({ key: 'save.stored', workload: 'snapshot save: stored size', unit: 'MB', better: 'lower', info: true });
  specs.push({ key: 'restore.seconds', workload: 'restore x3 + start until serving (3 members)', unit: 's', better: 'lower' });
  specs.push({ key: 'restore.build', workload: 'restore: building the 3 data dirs alone', unit: 's', better: 'lower', info: true });
  return specs;
}

/** Everything one side measured: figures by row key (one value per run) and details for the docs. */
export interface SideResult {
  readonly figures: Record<string, number[]>;
  readonly details: Record<string, unknown>;
  /** Why this side stopped early, if it did (its figures so far are kept). */
  error?: string;
}

type Results = Map<BenchSide, SideResult>;

/**
 * Runs every workload on every side. Both clusters stay up and the sides take turns workload by
 * workload (Lifeboat's run 1, etcd's run 1, Lifeboat's run 2, ...), so a burst of load from
 * elsewhere on a shared machine falls on both sides alike instead of on whichever ran then.
 * A side that fails is dropped with its error; the others carry on.
 */
export async function runAll(sides: readonly BenchSide[], config: WorkloadConfig, log: (line: string) => void): Promise<Results> {
  const results: Results = new Map(sides.map((s) => [s, { figures: {}, details: {} }]));
  const dataBytes = new Map<BenchSide, number>(sides.map((s) => [s, 0]));
  const drivers = new Map<BenchSide, KvDriver>();
  /** How many keys the first put row wrote on each side (the read rows read those). */
  const written = new Map<BenchSide, number>();
  /** Puts that failed and were tried again during the load. */
  const failures = new Map<BenchSide, number>();
  const add = (side: BenchSide, key: string, value: number) => ((results.get(side)!.figures[key] ??= []).push(value));
  const addLoop = (side: BenchSide, id: string, r: LoopResult) => {
    add(side, `${id}.rate`, r.opsPerSecond);
    add(side, `${id}.p50`, r.p50Ms);
    add(side, `${id}.p99`, r.p99Ms);
  };
  const alive = () => sides.filter((s) => results.get(s)!.error === undefined);
  /** Runs fn on each live side in turn; a failure ends that side (stopped and disposed). */
  const each = async (fn: (side: BenchSide) => Promise<void>) => {
    for (const side of alive()) {
      try {
        await fn(side);
      } catch (err) {
        results.get(side)!.error = (err as Error).stack ?? String(err);
        log(`${side.name} failed: ${(err as Error).message}`);
        log(side.diagnostics());
        await drivers.get(side)?.close().catch(() => {});
        drivers.delete(side);
        await side.dispose().catch((e) => log(`${side.name}: cleanup failed: ${(e as Error).message}`));
      }
    }
  };
  /** Puts; with retries, a failed put is counted and tried again (the load must finish), else it ends the run. */
  const putAll = (side: BenchSide, prefix: string, total: number, inFlight: number, values: ValueSource, maxSeconds = Infinity, retries = 0) => {
    const driver = drivers.get(side)!;
    return closedLoop(total, inFlight, async (i) => {
      const key = benchKey(prefix, i);
      const value = values.next();
      for (let attempt = 0; ; attempt++) {
        try {
          await driver.put(key, value);
          break;
        } catch (err) {
          if (attempt >= retries) throw err;
          failures.set(side, (failures.get(side) ?? 0) + 1);
          log(`${side.name}: put of ${key} failed (${(err as Error).message}); trying again`);
        }
      }
      dataBytes.set(side, dataBytes.get(side)! + key.length + value.length);
    }, maxSeconds);
  };
  const small = new ValueSource(256);
  const big = new ValueSource(1024);
  try {
    await each(async (side) => {
      await side.start();
      drivers.set(side, await side.driver());
      // Both sides warm up alike: JIT compilation (Lifeboat) and connection set-up must not land in the first row.
      await putAll(side, '/warmup', 3000, 16, small);
    });
    for (let run = 0; run < config.runs; run++) {
      for (const c of config.putInFlight) {
        await each(async (side) => {
          const cpu0 = cpuSeconds(side.memberPids());
          const client0 = process.cpuUsage();
          const r = await putAll(side, `/put-c${c}-r${run}`, config.putsPerRun, c, small, config.maxSecondsPerRun);
          const client = process.cpuUsage(client0);
          const memberMs = ((cpuSeconds(side.memberPids()) - cpu0) * 1000) / r.ops;
          const clientMs = (client.user + client.system) / 1000 / r.ops;
          if (run === 0 && c === config.putInFlight[0]) written.set(side, r.ops);
          log(`${side.name}: put, ${c} in flight, run ${run + 1}: ${r.ops} puts, ${Math.round(r.opsPerSecond)}/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms; CPU per put ${memberMs.toFixed(3)} ms in members, ${clientMs.toFixed(3)} ms in the client`);
          addLoop(side, `put${c}`, r);
          add(side, `put${c}.cpu`, memberMs);
          add(side, `put${c}.clientCpu`, clientMs);
        });
      }
    }
    const readPrefix = `/put-c${config.putInFlight[0]}-r0`;
    for (let run = 0; run < config.runs; run++) {
      await each(async (side) => {
        const driver = drivers.get(side)!;
        const readable = Math.max(1, written.get(side) ?? 1);
        const r = await closedLoop(config.readsPerRun, config.readInFlight, (i) => driver.get(benchKey(readPrefix, i % readable)), config.maxSecondsPerRun);
        log(`${side.name}: get, ${config.readInFlight} in flight, run ${run + 1}: ${r.ops} reads, ${Math.round(r.opsPerSecond)}/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms`);
        addLoop(side, `get${config.readInFlight}`, r);
      });
    }
    await each(async (side) => {
      log(`${side.name}: loading ${config.keys} keys of 1 KiB, ${config.loadInFlight} in flight`);
      const load = await putAll(side, '/load', config.keys, config.loadInFlight, big, Infinity, 3);
      const failed = failures.get(side) ?? 0;
      log(`${side.name}: loaded in ${load.seconds.toFixed(1)} s (${Math.round(load.opsPerSecond)}/s, p50 ${load.p50Ms.toFixed(2)} ms, p99 ${load.p99Ms.toFixed(2)} ms, max ${load.maxMs.toFixed(0)} ms; ${failed} put(s) failed and were retried)`);
      add(side, 'load.rate', load.opsPerSecond);
      add(side, 'load.max', load.maxMs);
      add(side, 'load.failures', failed);
      results.get(side)!.details.load = load;
      const afterLoad = memberMemory(side.memberPids());
      add(side, 'member.rss', afterLoad.rssMiB);
      results.get(side)!.details.memberAfterLoad = afterLoad;
      results.get(side)!.details.dataBytes = dataBytes.get(side);
      await drivers.get(side)!.close();
      drivers.delete(side);
    });
    for (let run = 0; run < config.runs; run++) {
      await each(async (side) => {
        const s = await side.save(run);
        const bytes = dataBytes.get(side)!;
        log(`${side.name}: save run ${run + 1}: ${s.seconds.toFixed(2)} s, ${(bytes / 1e6 / s.seconds).toFixed(1)} MB/s, peak ${s.peakRssMiB.toFixed(0)} MiB, stored ${(s.storedBytes / 1e6).toFixed(1)} MB`);
        add(side, 'save.rate', bytes / 1e6 / s.seconds);
        add(side, 'save.rss', s.peakRssMiB);
        add(side, 'save.stored', s.storedBytes / 1e6);
        ((results.get(side)!.details.saves ??= []) as unknown[]).push(s);
      });
    }
    await each(async (side) => {
      // The peak covers the load and the saves (a member streams the snapshot while serving).
      const peak = memberMemory(side.memberPids());
      add(side, 'member.hwm', peak.hwmMiB);
      results.get(side)!.details.memberAfterSaves = peak;
      await side.stop();
    });
    for (let run = 0; run < config.runs; run++) {
      await each(async (side) => {
        const r = await side.restore(run);
        log(`${side.name}: restore run ${run + 1}: serving after ${r.seconds.toFixed(2)} s (data dirs built in ${r.restoreSeconds.toFixed(2)} s, peak ${r.peakRssMiB.toFixed(0)} MiB per restore)`);
        add(side, 'restore.seconds', r.seconds);
        add(side, 'restore.build', r.restoreSeconds);
        ((results.get(side)!.details.restores ??= []) as unknown[]).push(r);
      });
    }
  } finally {
    for (const d of drivers.values()) await d.close().catch(() => {});
    for (const side of alive()) await side.dispose().catch((e) => log(`${side.name}: cleanup failed: ${(e as Error).message}`));
  }
  return results;
}
