// Where a member's time goes on the put path: starts a 3-member Lifeboat cluster with every member
// under --cpu-prof, drives puts of 256 B at the given concurrency, stops the members cleanly (V8
// writes a profile at a clean exit) and prints, for the leader and one follower, time by layer
// and the functions with the most self time.
//   npm run build && node --import tsx bench/lib/profile-puts.ts [puts=20000] [inFlight=64] [outDir]
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LifeboatClient } from '../../src/client/lifeboat-client.js';
import { closedLoop } from './closed-loop.js';
import { profileMarkdown, summarizeProfile } from './cpu-profile.js';
import { LifeboatSide } from './lifeboat-side.js';
import { installProcessGuards } from './processes.js';
import { benchKey, ValueSource } from './values.js';

const log = (line: string) => process.stderr.write(line + '\n');

async function main(): Promise<void> {
  const puts = Number(process.argv[2] ?? 20_000);
  const inFlight = Number(process.argv[3] ?? 64);
  installProcessGuards(log);
  const work = await mkdtemp(join(tmpdir(), 'lifeboat-profile-'));
  const profDir = resolve(process.argv[4] ?? join(work, 'profiles'));
  await mkdir(join(work, 'side'), { recursive: true });
  const side = new LifeboatSide({ workDir: join(work, 'side'), log, cpuProfDir: profDir });
  try {
    await side.start();
    const pids = side.memberPids();
    const probe = new LifeboatClient([...side.endpoints()]);
    const leader = await probe.findLeader();
    probe.close();
    const leaderIndex = side.endpoints().indexOf(leader!.endpoint);
    const driver = await side.driver();
    const values = new ValueSource(256);
    await closedLoop(500, 16, (i) => driver.put(benchKey('/warmup', i), values.next()));
    const r = await closedLoop(puts, inFlight, (i) => driver.put(benchKey('/profile', i), values.next()));
    await driver.close();
    log(`${puts} puts at ${inFlight} in flight: ${Math.round(r.opsPerSecond)}/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${r.seconds.toFixed(1)} s`);
    await side.stop();
    const files = await readdir(profDir);
    const fileOf = (pid: number) => files.find((f) => f.includes(`.${pid}.`) && f.endsWith('.cpuprofile'));
    const follower = pids.findIndex((_, i) => i !== leaderIndex);
    const out: string[] = [
      `### Put path profile: ${puts} puts of 256 B at ${inFlight} in flight`,
      '',
      `${Math.round(r.opsPerSecond)} puts/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms over ${r.seconds.toFixed(1)} s (the profile also covers start-up and stop).`,
      '',
    ];
    for (const [title, index] of [['leader', leaderIndex], ['a follower', follower]] as const) {
      const file = fileOf(pids[index]!);
      if (!file) {
        out.push(`(no profile for the ${title}, pid ${pids[index]}: did it exit cleanly?)`);
        continue;
      }
      out.push(profileMarkdown(`The ${title} (pid ${pids[index]})`, summarizeProfile(join(profDir, file))), '');
    }
    const text = out.join('\n');
    process.stdout.write(text + '\n');
    await writeFile(join(profDir, 'summary.md'), text + '\n');
    log(`profiles and summary.md in ${profDir}`);
  } finally {
    await side.dispose();
    if (!process.argv[4]) log('(pass an output directory as the third argument to keep the .cpuprofile files)');
    if (!process.argv[4]) await rm(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  log(`profile failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});
