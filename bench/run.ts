// `npm run bench`: Lifeboat and etcd side by side on this machine, one after the other, the same
// workloads through each one's own client; one table of medians with the ratio.
//   npm run bench [-- --quick] [-- --json FILE] [--markdown FILE] [--runs N] [--keys N] [--puts N]
//                 [--only lifeboat|etcd] [--cpu-prof DIR] [--lifeboat-serve-args="--snapshot-count 100000"]
// --quick: 1 run, 2,000 puts per row (or 8 s) and 20,000 keys for the snapshot rows (the labels say so).
// Full: 3 runs, 10,000 operations per latency row or 25 s, whichever ends first; 200,000 keys.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EtcdSide, etcdVersion } from './lib/etcd-side.js';
import { LifeboatSide } from './lib/lifeboat-side.js';
import { describeMachine } from './lib/machine.js';
import { installProcessGuards } from './lib/processes.js';
import { renderMarkdown, renderTable, summarize, type Row } from './lib/report.js';
import type { BenchSide } from './lib/side.js';
import { rowSpecs, runAll, type WorkloadConfig } from './lib/workloads.js';

const log = (line: string) => process.stderr.write(line + '\n');

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: "${value}" is not a positive integer`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      markdown: { type: 'string' },
      runs: { type: 'string' },
      keys: { type: 'string' },
      puts: { type: 'string' },
      only: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'lifeboat-serve-args': { type: 'string' },
    },
    strict: true,
  });
  const quick = values.quick === true;
  const puts = positiveInt(values.puts, '--puts') ?? (quick ? 2000 : 10_000);
  const config: WorkloadConfig = {
    runs: positiveInt(values.runs, '--runs') ?? (quick ? 1 : 3),
    putsPerRun: puts,
    readsPerRun: puts,
    maxSecondsPerRun: quick ? 8 : 25,
    keys: positiveInt(values.keys, '--keys') ?? (quick ? 20_000 : 200_000),
    putInFlight: [1, 16, 64],
    readInFlight: 16,
    loadInFlight: 64,
  };
  if (values.only !== undefined && values.only !== 'lifeboat' && values.only !== 'etcd') throw new Error('--only: lifeboat or etcd');

  installProcessGuards(log);
  const work = await mkdtemp(join(tmpdir(), 'lifeboat-bench-'));
  const etcd = values.only === 'lifeboat' ? undefined : etcdVersion();
  if (!etcd && values.only !== 'lifeboat') log('etcd or etcdctl is not on the PATH: running Lifeboat alone (apt-get install -y etcd-server etcd-client)');
  const machine = describeMachine(work, etcd);
  log(`work directory ${work}; ${config.runs} run(s), ${config.putsPerRun} ops per latency row, ${config.keys} keys for the snapshot rows`);

  const sides: BenchSide[] = [];
  if (values.only !== 'etcd') {
    const cpuProfDir = values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined;
    const serveArgs = values['lifeboat-serve-args']?.split(/\s+/).filter(Boolean);
    sides.push(new LifeboatSide({ workDir: await mkdtemp(join(work, 'lifeboat-')), log, cpuProfDir, serveArgs }));
  }
  if (etcd) sides.push(new EtcdSide(await mkdtemp(join(work, 'etcd-')), log));

  const loadBefore = loadavg();
  const byName = new Map([...(await runAll(sides, config, log)).entries()].map(([side, r]) => [side.name, r]));
  const results = { lifeboat: byName.get('lifeboat'), etcd: byName.get('etcd') };
  const errors: Record<string, string> = {};
  for (const [name, r] of byName) if (r.error) errors[name] = r.error;
  const load = { before: loadBefore.map((v) => Math.round(v * 10) / 10), after: loadavg().map((v) => Math.round(v * 10) / 10) };
  log(`load average (1/5/15 min) before ${load.before.join(' ')}, after ${load.after.join(' ')} on ${machine.cores} cores`);

  const rows: Row[] = rowSpecs(config).map((s) => ({
    workload: s.workload,
    unit: s.unit,
    better: s.better,
    info: s.info,
    lifeboat: results.lifeboat?.figures[s.key] ?? [],
    etcd: results.etcd?.figures[s.key] ?? [],
  }));
  const summaries = rows.map(summarize);
  process.stdout.write(renderTable(machine, summaries, config.runs) + `\nload average (1/5/15 min): before ${load.before.join(' ')}, after ${load.after.join(' ')}\n`);
  const markdown = renderMarkdown(machine, summaries, config.runs) + `\n\nLoad average (1/5/15 min) before ${load.before.join(' ')}, after ${load.after.join(' ')}.`;
  if (values.markdown) await writeFile(values.markdown, markdown + '\n');
  if (values.json) {
    const doc = {
      schema: 'lifeboat.bench/v1',
      machine,
      loadAverage: load,
      config,
      rows: summaries,
      details: { lifeboat: results.lifeboat?.details, etcd: results.etcd?.details },
      errors,
    };
    await writeFile(values.json, JSON.stringify(doc, null, 2) + '\n');
    log(`wrote ${values.json}`);
  }
  await rm(work, { recursive: true, force: true });
  if (Object.keys(errors).length) {
    for (const [name, stack] of Object.entries(errors)) log(`${name}: ${stack}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  log(`bench failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});
