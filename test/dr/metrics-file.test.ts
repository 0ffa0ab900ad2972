import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeMetricsFile } from '../../src/dr/metrics-file.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'lifeboat-metrics-'));
}

test('a successful save writes every gauge in the Prometheus text format', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'lifeboat.prom');
    await writeMetricsFile(path, {
      command: 'snapshot save',
      exitCode: 0,
      durationSeconds: 2.5,
      finishedAt: new Date('2026-11-25T10:00:00Z'),
      snapshot: { bytes: 1000, archiveBytes: 300, revision: 42, keys: 7 },
    });
    const text = readFileSync(path, 'utf8');
    assert.match(text, /^lifeboat_last_success_timestamp_seconds\{command="snapshot save"\} 1795600800$/m);
    assert.match(text, /^lifeboat_last_run_exit_code\{command="snapshot save"\} 0$/m);
    assert.match(text, /^lifeboat_last_snapshot_revision\{command="snapshot save"\} 42$/m);
    assert.match(text, /^# TYPE lifeboat_last_snapshot_keys gauge$/m);
    assert.deepEqual(readdirSync(dir), ['lifeboat.prom'], 'no temporary file is left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed run keeps the previous last-success time and records its exit code', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'lifeboat.prom');
    await writeMetricsFile(path, { command: 'snapshot save', exitCode: 0, durationSeconds: 1, finishedAt: new Date('2026-11-25T10:00:00Z') });
    await writeMetricsFile(path, { command: 'snapshot save', exitCode: 3, durationSeconds: 30, finishedAt: new Date('2026-11-25T11:00:00Z') });
    const text = readFileSync(path, 'utf8');
    assert.match(text, /^lifeboat_last_success_timestamp_seconds\{command="snapshot save"\} 1795600800$/m);
    assert.match(text, /^lifeboat_last_run_exit_code\{command="snapshot save"\} 3$/m);
    assert.doesNotMatch(text, /lifeboat_last_snapshot_bytes/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a first run that fails has no last-success gauge at all, so the alert on its absence fires', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'lifeboat.prom');
    await writeMetricsFile(path, { command: 'snapshot save', exitCode: 14, durationSeconds: 3, finishedAt: new Date() });
    assert.doesNotMatch(readFileSync(path, 'utf8'), /lifeboat_last_success_timestamp_seconds/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
