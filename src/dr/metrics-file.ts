// A Prometheus textfile for node_exporter's textfile collector, written after each run so
// an alert can fire when backups stop succeeding. Written atomically (temp file + rename),
// because the collector may read it at any moment.
import { rename, writeFile, readFile, unlink } from 'node:fs/promises';
import { UsageError } from '../errors.js';

/** What one run reports. */
export interface RunMetrics {
  readonly command: string;
  readonly exitCode: number;
  readonly durationSeconds: number;
  readonly finishedAt: Date;
  /** Only for successful saves. */
  readonly snapshot?: { readonly bytes: number; readonly archiveBytes: number; readonly revision: number; readonly keys: number };
}

/** Writes the metrics of a run to path. The last-success timestamp survives failed runs. */
export async function writeMetricsFile(path: string, run: RunMetrics): Promise<void> {
  const previousSuccess = await readLastSuccess(path);
  const lastSuccess = run.exitCode === 0 ? run.finishedAt.getTime() / 1000 : previousSuccess;
  const label = `{command="${run.command.replace(/["\\\n]/g, '_')}"}`;
  const lines: string[] = [];
  const metric = (name: string, help: string, value: number | undefined) => {
    if (value === undefined) return;
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name}${label} ${value}`);
  };
  metric('lifeboat_last_success_timestamp_seconds', 'Unix time of the last successful run.', lastSuccess);
  metric('lifeboat_last_run_timestamp_seconds', 'Unix time the last run finished.', run.finishedAt.getTime() / 1000);
  metric('lifeboat_last_run_exit_code', 'Exit code of the last run (0 = success).', run.exitCode);
  metric('lifeboat_last_run_duration_seconds', 'Duration of the last run.', run.durationSeconds);
  metric('lifeboat_last_snapshot_bytes', 'Size of the last saved snapshot, uncompressed.', run.snapshot?.bytes);
  metric('lifeboat_last_snapshot_archive_bytes', 'Size of the last saved archive, compressed.', run.snapshot?.archiveBytes);
  metric('lifeboat_last_snapshot_revision', 'Revision of the last saved snapshot.', run.snapshot?.revision);
  metric('lifeboat_last_snapshot_keys', 'Key count of the last saved snapshot.', run.snapshot?.keys);
  const temp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(temp, lines.join('\n') + '\n');
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw new UsageError(`--metrics-file: cannot write ${path}: ${(err as Error).message}`, 'point --metrics-file at a writable path, usually in node_exporter\'s textfile directory');
  }
}

async function readLastSuccess(path: string): Promise<number | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    const match = /^lifeboat_last_success_timestamp_seconds\{[^}]*\} ([0-9.e+]+)$/m.exec(text);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
