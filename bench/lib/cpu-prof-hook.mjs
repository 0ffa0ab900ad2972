// Preloaded into member processes (NODE_OPTIONS=--import <this file>) when the benchmark profiles
// them: Node 20 refuses --cpu-prof in NODE_OPTIONS, and local-cluster spawns members itself. Starts
// V8's sampling profiler at once and writes the profile synchronously at exit (an in-thread
// inspector session answers synchronously, so this works inside the 'exit' handler).
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: Number(process.env.BENCH_CPU_PROF_INTERVAL_US ?? 1000) });
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `CPU.${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
