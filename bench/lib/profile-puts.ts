// Where a member's time goes on the put path: starts a 3-member Lifeboat cluster with every member
// under --cpu-prof, drives puts of 256 B at the given concurrency, stops the members cleanly (V8
// writes a profile at a clean exit) and prints, for the leader and one follower, time by layer
// and the functions with the most self time.
//   npm run build && node --import tsx bench/lib/profile-puts.ts [puts=20000] [inFlight=64] [outDir] [--strace | --perf]
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { LifeboatClient } from '../../src/client/lifeboat-client.js';
import { closedLoop } from './closed-loop.js';
import { profileMarkdown, summarizeProfile } from './cpu-profile.js';
import { LifeboatSide } from './lifeboat-side.js';
import { cpuSeconds, exited, installProcessGuards, readStatusKiB, spawnTracked, waitFor } from './processes.js';
import { groupPerfReport } from './perf-report.js';
import { spawnSync } from 'node:child_process';
import { benchKey, ValueSource } from './values.js';

const log = (line: string) => process.stderr.write(line + '\n');

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
  const puts = Number(args[0] ?? 20_000);
  const inFlight = Number(args[1] ?? 64);
  installProcessGuards(log);
  const work = await mkdtemp(join(tmpdir(), 'lifeboat-profile-'));
  const profDir = resolve(args[2] ?? join(work, 'profiles'));
  await mkdir(join(work, 'side'), { recursive: true });
  // Under strace the sampling profiler's signals would swamp the counts: one or the other.
  const straced = process.argv.includes('--strace');
  const perfed = process.argv.includes('--perf');
  const side = new LifeboatSide({ workDir: join(work, 'side'), log, cpuProfDir: straced || perfed ? undefined : profDir, perfMap: perfed });
  try {
    await side.start();
    const pids = side.memberPids();
    const probe = new LifeboatClient([...side.endpoints()]);
    const leader = await probe.findLeader();
    probe.close();
    const leaderIndex = side.endpoints().indexOf(leader!.endpoint);
    const follower = pids.findIndex((_, i) => i !== leaderIndex);
    const driver = await side.driver();
    const values = new ValueSource(256);
    // Long enough that TurboFan has compiled the hot path: otherwise the compiler dominates.
    await closedLoop(Math.max(5000, puts >> 1), inFlight, (i) => driver.put(benchKey('/warmup', i), values.next()));
    // strace -c counts the leader's system calls during the puts alone: how many writes, writevs
    // and fdatasyncs one put costs says whether appends and sends are batched.
    const strace = straced ? await startStrace(pids[leaderIndex]!, join(profDir, 'strace-leader.txt')) : undefined;
    const perfStops = perfed ? await Promise.all([leaderIndex, follower].map((i) => startPerf(pids[i]!, join(profDir, `perf-${i === leaderIndex ? 'leader' : 'follower'}.data`)))) : [];
    const cpu0 = pids.map((p) => cpuSeconds([p]));
    const client0 = process.cpuUsage();
    const r = await closedLoop(puts, inFlight, (i) => driver.put(benchKey('/profile', i), values.next()));
    const clientCpu = process.cpuUsage(client0);
    const cpuMsPerPut = pids.map((p, i) => ((cpuSeconds([p]) - cpu0[i]!) * 1000) / puts);
    const syscalls = strace ? await strace() : undefined;
    const perfReports = await Promise.all(perfStops.map((stop) => stop()));
    await driver.close();
    log(`${puts} puts at ${inFlight} in flight: ${Math.round(r.opsPerSecond)}/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${r.seconds.toFixed(1)} s`);
    await side.stop();
    const files = await readdir(profDir);
    const fileOf = (pid: number) => files.find((f) => f.includes(`.${pid}.`) && f.endsWith('.cpuprofile'));
    const out: string[] = [
      `### Put path profile: ${puts} puts of 256 B at ${inFlight} in flight`,
      '',
      `${Math.round(r.opsPerSecond)} puts/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms over ${r.seconds.toFixed(1)} s (the profile also covers start-up and stop).`,
      '',
      `CPU per put (user + system, from /proc): leader ${cpuMsPerPut[leaderIndex]!.toFixed(3)} ms, followers ${cpuMsPerPut.filter((_, i) => i !== leaderIndex).map((v) => v.toFixed(3)).join(' and ')} ms, client ${((clientCpu.user + clientCpu.system) / 1000 / puts).toFixed(3)} ms.`,
      '',
    ];
    perfReports.forEach((report, i) => out.push(perfMarkdown(i === 0 ? 'The leader, on-CPU time (perf, cpu-clock)' : 'A follower, on-CPU time (perf, cpu-clock)', report), ''));
    for (const [title, index] of straced || perfed ? [] : ([['leader', leaderIndex], ['a follower', follower]] as const)) {
      const file = fileOf(pids[index]!);
      if (!file) {
        out.push(`(no profile for the ${title}, pid ${pids[index]}: did it exit cleanly?)`);
        continue;
      }
      out.push(profileMarkdown(`The ${title} (pid ${pids[index]})`, summarizeProfile(join(profDir, file))), '');
    }
    if (syscalls) out.push('#### Leader system calls during the puts (strace -c -f)', '', perPut(syscalls, puts), '');
    const text = out.join('\n');
    process.stdout.write(text + '\n');
    await writeFile(join(profDir, 'summary.md'), text + '\n');
    log(`profiles and summary.md in ${profDir}`);
  } finally {
    await side.dispose();
    if (!args[2]) log('(pass an output directory as the third argument to keep the .cpuprofile files)');
    await rm(work, { recursive: true, force: true });
  }
}

/** Attaches strace -c to a process; the returned function detaches and yields the summary. */
async function startStrace(pid: number, file: string): Promise<() => Promise<string>> {
  await mkdir(dirname(file), { recursive: true });
  const child = spawnTracked('strace', ['-c', '-f', '-o', file, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let attached = false;
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (d.includes('attached')) attached = true;
  });
  await waitFor('strace to attach', 30_000, async () => (attached ? true : undefined));
  return async () => {
    child.kill('SIGINT');
    await exited(child);
    return readFile(file, 'utf8');
  };
}

/** Records a process with perf (cpu-clock, so only on-CPU time); the returned function stops and reports. */
async function startPerf(pid: number, file: string): Promise<() => Promise<string>> {
  await mkdir(dirname(file), { recursive: true });
  const child = spawnTracked('perf', ['record', '-e', 'cpu-clock', '-F', '999', '-p', String(pid), '-o', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  // perf prints nothing when it attaches; give it a moment's worth of samples to be sure it runs.
  await waitFor('perf to start', 30_000, async () => (child.pid && readStatusKiB(child.pid, 'VmRSS') ? true : undefined));
  return async () => {
    child.kill('SIGINT');
    await exited(child);
    const r = spawnSync('perf', ['report', '-i', file, '--stdio', '--no-children', '--sort', 'dso,sym'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    return r.stdout;
  };
}

function perfMarkdown(title: string, report: string): string {
  const { groups, top } = groupPerfReport(report, 30);
  return [
    `#### ${title}`,
    '',
    '| layer | % of on-CPU samples |',
    '|---|---:|',
    ...groups.map((g) => `| ${g.name} | ${g.pct} |`),
    '',
    '| symbol | layer | % |',
    '|---|---|---:|',
    ...top.map((t) => `| \`${t.sym.replace(/\|/g, '\\|').slice(0, 110)}\` | ${t.group} | ${t.pct} |`),
  ].join('\n');
}

/** The strace -c table with a calls-per-put column. */
function perPut(table: string, puts: number): string {
  const rows = table.split('\n').filter((l) => /^\s*[\d.]+\s+[\d.]+\s+\d+\s+\d+/.test(l));
  const lines = ['| syscall | calls | per put | seconds | errors |', '|---|---:|---:|---:|---:|'];
  for (const row of rows) {
    const cols = row.trim().split(/\s+/);
    const name = cols[cols.length - 1]!;
    const calls = Number(cols[3]);
    const errors = cols.length === 6 ? cols[4] : '';
    lines.push(`| ${name} | ${calls} | ${(calls / puts).toFixed(2)} | ${cols[1]} | ${errors} |`);
  }
  return lines.join('\n');
}

main().catch((err) => {
  log(`profile failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});
