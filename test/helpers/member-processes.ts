// The `lifeboat serve` processes a test started indirectly (through the demo, a drill or a
// cluster command), found by a path in their arguments, so a test can check none is left.
import { spawnSync } from 'node:child_process';

/** Process IDs of `lifeboat serve` processes whose arguments mention `path`. */
export function memberPids(path: string): number[] {
  const ps = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).stdout;
  return ps
    .split('\n')
    .filter((l) => l.includes(' serve ') && l.includes(path))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

/** SIGKILLs each process that is still there. */
export function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
