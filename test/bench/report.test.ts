import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderMarkdown, summarize } from '../../bench/lib/report.js';
import type { MachineInfo } from '../../bench/lib/machine.js';

const machine: MachineInfo = { date: '2026-11-25T10:00:00.000Z', cores: 2, cpuModel: 'test cpu', memoryGiB: 4, disk: '/dev/vda ext4', kernel: 'Linux 6', node: 'v20.20.2', etcd: '3.4.23' };

test('a throughput row meets the target when Lifeboat is at least as high as etcd', () => {
  const s = summarize({ workload: 'put', unit: 'puts/s', better: 'higher', lifeboat: [900, 1100, 1000], etcd: [1000, 990, 1010] });
  assert.equal(s.lifeboat, 1000);
  assert.equal(s.etcd, 1000);
  assert.equal(s.ratio, 1);
  assert.equal(s.meetsTarget, true);
});

test('a latency row fails the target when Lifeboat is slower than etcd', () => {
  const s = summarize({ workload: 'p99', unit: 'ms', better: 'lower', lifeboat: [3], etcd: [2] });
  assert.equal(s.ratio, 1.5);
  assert.equal(s.meetsTarget, false);
});

test('a row without etcd has no ratio and no verdict, and an info row never has a verdict', () => {
  assert.equal(summarize({ workload: 'x', unit: 's', better: 'lower', lifeboat: [1], etcd: [] }).meetsTarget, null);
  const info = summarize({ workload: 'load', unit: 'puts/s', better: 'higher', lifeboat: [1], etcd: [2], info: true });
  assert.equal(info.ratio, 0.5);
  assert.equal(info.meetsTarget, null);
});

test('the markdown table names the machine and marks a missed target', () => {
  const md = renderMarkdown(machine, [summarize({ workload: 'save', unit: 'MB/s', better: 'higher', lifeboat: [50], etcd: [100] })], 3);
  assert.match(md, /2 cores \(test cpu\), 4 GiB RAM, disk \/dev\/vda ext4/);
  assert.match(md, /Median of 3 run/);
  assert.match(md, /\| save \| MB\/s \| higher \| 50 \| 100 \| 0\.5 \| \*\*no\*\* \|/);
});
