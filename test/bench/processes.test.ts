import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuSeconds, freePorts, readStatusKiB, runTimed } from '../../bench/lib/processes.js';

test('a timed run reports at least the memory its command touched', async () => {
  const run = await runTimed(process.execPath, ['-e', 'const b = Buffer.alloc(96 * 1024 * 1024, 1); console.log(b[5])']);
  assert.ok(run.peakRssMiB >= 96, `peak ${run.peakRssMiB} MiB is below the 96 MiB the child filled`);
  assert.equal(run.stdout.trim(), '1');
  assert.ok(run.seconds > 0);
});

test('a timed run that exits non-zero rejects with its stderr', async () => {
  await assert.rejects(runTimed(process.execPath, ['-e', 'console.error("no such thing"); process.exit(3)']), /exited 3: no such thing/);
});

test('this process has a resident set, a peak at least as large, and CPU time that only grows', () => {
  const rss = readStatusKiB(process.pid, 'VmRSS')!;
  const hwm = readStatusKiB(process.pid, 'VmHWM')!;
  assert.ok(rss > 0 && hwm >= rss);
  const before = cpuSeconds([process.pid]);
  let x = 0;
  for (let i = 0; i < 5e7; i++) x += i;
  assert.ok(x > 0);
  assert.ok(cpuSeconds([process.pid]) >= before);
  assert.equal(readStatusKiB(2 ** 22 + 12345, 'VmRSS'), undefined);
});

test('free ports are distinct', async () => {
  const ports = await freePorts(6);
  assert.equal(new Set(ports).size, 6);
});
