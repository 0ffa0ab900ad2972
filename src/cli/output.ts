// Output helpers shared by the commands: JSON documents on stdout, tables, human sizes.
import { createRequire } from 'node:module';
import type TableType from 'cli-table3';

let jsonWritten = false;

/** Writes one JSON document (with its schema name) on stdout. */
export function printJson(schema: string, body: Record<string, unknown>): void {
  jsonWritten = true;
  process.stdout.write(JSON.stringify({ schema, ...body }, null, 2) + '\n');
}

/**
 * True once a command has written its JSON document. A command that reports a failure inside
 * its own document (a failed drill's report) must not get a second, error document after it:
 * --json promises exactly one document on stdout.
 */
export function jsonDocumentWritten(): boolean {
  return jsonWritten;
}

/** Renders rows as a cli-table3 table string. */
export function renderTable(head: string[], rows: (string | number)[][]): string {
  // Loaded on first use: most runs (a cron save, every member's serve) print no table.
  const Table = createRequire(import.meta.url)('cli-table3') as typeof TableType;
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) table.push(row.map(String));
  return table.toString();
}

/** Writes a line for humans on stderr (never on stdout, which --json keeps for JSON). */
export function log(line: string): void {
  process.stderr.write(line + '\n');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** 1234 -> "1.23 s"; 83000 -> "1m23s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms % 60_000) / 1000)}s`;
}
