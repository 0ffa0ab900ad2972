// The result table: one row per figure, Lifeboat beside etcd, the ratio and whether Lifeboat
// meets the target (at least etcd's figure, in the row's own direction).
import Table from 'cli-table3';
import type { MachineInfo } from './machine.js';
import { machineLine } from './machine.js';
import { median, round } from './stats.js';

/** One figure of the benchmark, measured on each side over several runs. */
export interface Row {
  readonly workload: string;
  readonly unit: string;
  /** Which direction is better for this figure. */
  readonly better: 'higher' | 'lower';
  readonly lifeboat: readonly number[];
  readonly etcd: readonly number[];
  /** An informational row has no target (e.g. the load phase). */
  readonly info?: boolean;
}

/** A row as printed and written: medians and the ratio. */
export interface RowSummary {
  readonly workload: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  readonly lifeboat: number | null;
  readonly etcd: number | null;
  /** lifeboat / etcd (null when a side is missing). */
  readonly ratio: number | null;
  /** Whether Lifeboat is at least as good as etcd (null without both sides or for info rows). */
  readonly meetsTarget: boolean | null;
  readonly runs: { readonly lifeboat: readonly number[]; readonly etcd: readonly number[] };
}

/** The medians, ratio and verdict of a row. */
export function summarize(row: Row): RowSummary {
  const lb = row.lifeboat.length ? median(row.lifeboat) : null;
  const et = row.etcd.length ? median(row.etcd) : null;
  const ratio = lb !== null && et !== null && et !== 0 ? lb / et : null;
  const meets = ratio === null || row.info ? null : row.better === 'higher' ? ratio >= 1 : ratio <= 1;
  return {
    workload: row.workload,
    unit: row.unit,
    better: row.better,
    lifeboat: lb === null ? null : round(lb),
    etcd: et === null ? null : round(et),
    ratio: ratio === null ? null : round(ratio),
    meetsTarget: meets,
    runs: { lifeboat: row.lifeboat.map((v) => round(v)), etcd: row.etcd.map((v) => round(v)) },
  };
}

/** The whole table as text, with the machine line above it. */
export function renderTable(machine: MachineInfo, rows: readonly RowSummary[], runs: number): string {
  const table = new Table({
    head: ['workload', 'unit', 'better', 'Lifeboat', 'etcd', 'Lifeboat/etcd', 'target met'],
    style: { head: [], border: [] },
    colAligns: ['left', 'left', 'left', 'right', 'right', 'right', 'left'],
  });
  const show = (v: number | null) => (v === null ? '-' : String(v));
  for (const r of rows) {
    const verdict = r.meetsTarget === null ? (r.ratio === null ? '-' : 'info') : r.meetsTarget ? 'yes' : 'no';
    table.push([r.workload, r.unit, r.better, show(r.lifeboat), show(r.etcd), show(r.ratio), verdict]);
  }
  return `${machineLine(machine)}\nmedian of ${runs} run(s) per figure\n${table.toString()}`;
}

/** The markdown form of the table, for docs and the README. */
export function renderMarkdown(machine: MachineInfo, rows: readonly RowSummary[], runs: number): string {
  const show = (v: number | null) => (v === null ? '-' : String(v));
  const lines = [
    `Run ${machine.date}: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB RAM, disk ${machine.disk}; ${machine.kernel}, Node ${machine.node}${machine.etcd ? `, etcd ${machine.etcd}` : ''}. Median of ${runs} run(s) per figure.`,
    '',
    '| workload | unit | better | Lifeboat | etcd | Lifeboat/etcd | target met |',
    '|---|---|---|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const verdict = r.meetsTarget === null ? (r.ratio === null ? '-' : 'info') : r.meetsTarget ? 'yes' : '**no**';
    lines.push(`| ${r.workload} | ${r.unit} | ${r.better} | ${show(r.lifeboat)} | ${show(r.etcd)} | ${show(r.ratio)} | ${verdict} |`);
  }
  return lines.join('\n');
}
