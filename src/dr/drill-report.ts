// The drill report: what was checked, what was expected and found, how long each phase took.
// One document serves the terminal table, `--json`, the JUnit file CI systems display, and the
// copy stored in the repository under drills/ (which `snapshot list` reads).
import type { Repository } from '../repo/repository.js';

export const DRILL_SCHEMA = 'lifeboat.drill/v1';

/** One check: passed when actual equals expected (or the check's own rule holds). */
export interface DrillCheck {
  readonly name: string;
  readonly passed: boolean;
  readonly expected: unknown;
  readonly actual: unknown;
  /** Why it failed, in one line; absent when it passed. */
  readonly message?: string;
  readonly durationMs: number;
}

/** Milliseconds per phase; `recoveryMs` is the time from start to a verified, serving cluster. */
export interface DrillPhases {
  downloadMs?: number;
  verifyMs?: number;
  restoreMs?: number;
  startMs?: number;
  checksMs?: number;
  recoveryMs?: number;
  totalMs?: number;
}

export interface DrillReport {
  readonly schema: typeof DRILL_SCHEMA;
  readonly snapshotId: string;
  readonly repository: string;
  readonly result: 'pass' | 'fail';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly members: number;
  readonly sourceClusterId: string;
  /** The throwaway cluster's ID (absent when the drill failed before restoring). */
  readonly clusterId?: string;
  readonly revision: number;
  readonly keyCount: number;
  readonly phases: DrillPhases;
  readonly checks: readonly DrillCheck[];
  /** Set when the drill stopped early (verification failed, the cluster never served). */
  readonly error?: string;
  /** Set with --keep-on-failure: where the cluster was left. */
  readonly keptAt?: string;
}

/** drills/<snapshot-id>--<finished-at, compact UTC to the millisecond>.json: sorts by time within a snapshot. */
export function drillReportKey(report: DrillReport): string {
  const stamp = report.finishedAt.replace(/[-:]/g, '');
  return `drills/${report.snapshotId}--${stamp}.json`;
}

/** Stores the report in the repository, so `snapshot list` shows the last drill. */
export async function storeDrillReport(repo: Repository, report: DrillReport): Promise<string> {
  const key = drillReportKey(report);
  await repo.writeSmall(key, Buffer.from(JSON.stringify(report, null, 2) + '\n'));
  return key;
}

/** The report as JUnit XML: one testsuite, one testcase per check. */
export function toJUnit(report: DrillReport): string {
  const failures = report.checks.filter((c) => !c.passed).length;
  const seconds = (ms: number | undefined) => ((ms ?? 0) / 1000).toFixed(3);
  const cases = report.checks.map((c) => {
    const open = `    <testcase classname="lifeboat.drill" name="${xml(c.name)}" time="${seconds(c.durationMs)}"`;
    if (c.passed) return `${open}/>`;
    const detail = `expected: ${show(c.expected)}\nactual: ${show(c.actual)}`;
    return `${open}>\n      <failure message="${xml(c.message ?? 'check failed')}" type="DrillCheckFailed">${xml(detail)}</failure>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="lifeboat drill" tests="${report.checks.length}" failures="${failures}" time="${seconds(report.phases.totalMs)}">`,
    `  <testsuite name="${xml(`drill ${report.snapshotId}`)}" tests="${report.checks.length}" failures="${failures}" errors="0" skipped="0" time="${seconds(report.phases.totalMs)}" timestamp="${xml(report.startedAt)}">`,
    `    <properties>`,
    `      <property name="repository" value="${xml(report.repository)}"/>`,
    `      <property name="snapshot" value="${xml(report.snapshotId)}"/>`,
    `      <property name="recovery_ms" value="${report.phases.recoveryMs ?? ''}"/>`,
    `    </properties>`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/** A check's value as one line of text. */
export function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Escapes text for XML attributes and content; drops characters XML 1.0 cannot carry. */
function xml(text: string): string {
  return text
    .replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
