// Reads a V8 .cpuprofile (node --cpu-prof) and says where a member's CPU time went, by layer:
// raft, WAL/storage, kv, the HTTP/JSON API, peer transport, node's HTTP and streams, JSON, GC.
// Self time only (each sample counted once, at its leaf), so the categories add up to the total.
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Time by category and the functions with the most self time. */
export interface ProfileSummary {
  readonly file: string;
  /** Wall time covered by the profile, ms. */
  readonly wallMs: number;
  /** Samples not idle times the median sampling interval, ms (close to on-CPU time). */
  readonly busyMs: number;
  readonly categories: readonly { name: string; ms: number; pctOfBusy: number }[];
  readonly top: readonly { fn: string; where: string; category: string; ms: number; pctOfBusy: number }[];
}

/** The layer a frame belongs to; the order of tests matters (fsync before storage, etc.). */
export function categorize(frame: CallFrame): string {
  const { functionName: fn, url } = frame;
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'native/other (program)';
  if (/^(fsync|fdatasync)(Sync)?$/.test(fn) || url.includes('deferred-sync')) return 'fsync (WAL durability)';
  if (url === '' && (fn === 'parse' || fn === 'stringify')) return 'JSON parse/stringify';
  if (url === 'node:fs' || url.startsWith('node:internal/fs')) return 'node: fs (file I/O)';
  const m = /\/(?:dist|src)\/([a-z-]+)\/([a-z0-9-]+)\.[jt]s/.exec(url);
  if (m) {
    const [, folder, file] = m;
    if (folder === 'server' && /^(http|request|response)/.test(file!)) return 'server: HTTP API + JSON codec';
    if (folder === 'kv' && /codec|request/.test(file!)) return 'kv: request codec';
    return `${folder}`;
  }
  if (/^node:(_http|http|internal\/http)/.test(url)) return 'node: HTTP';
  if (/^node:(net|_stream|stream|internal\/(streams|stream_base|net))/.test(url)) return 'node: net, streams';
  if (/^node:(events|internal\/event)/.test(url)) return 'node: events';
  if (/^node:(buffer|internal\/buffer)/.test(url)) return 'node: Buffer';
  if (/^node:internal\/modules/.test(url)) return 'node: module loading (start-up)';
  if (/^node:internal\/(timers|process\/task_queues|async_hooks)|^node:timers/.test(url)) return 'node: timers, microtasks';
  if (url.startsWith('node:')) return 'node: other internals';
  if (url.includes('node_modules')) return 'dependencies';
  if (url === '') return 'V8 builtins';
  return 'other';
}

/** Summarizes one profile file. */
export function summarizeProfile(file: string, topN = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Count samples, not the time between them: on a busy machine a preempted thread takes its
  // next sample late, and the gap (time off the CPU) would be charged to whatever ran then,
  // typically the return from a write or fsync. Pending profiler signals coalesce while the
  // thread is off the CPU, so a sample count tracks on-CPU time; each counts as the median interval.
  const intervals = [...profile.timeDeltas].filter((d) => d > 0).sort((a, b) => a - b);
  const tick = intervals.length ? intervals[intervals.length >> 1]! : 1000;
  const selfUs = new Map<number, number>();
  for (const id of profile.samples) selfUs.set(id, (selfUs.get(id) ?? 0) + tick);
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  // A native leaf (writeBuffer, writev, ...) belongs to whoever called it: a socket write is
  // transport or HTTP, a file write is the WAL. Attribute it to its nearest JavaScript caller.
  const jsCaller = (id: number): ProfileNode | undefined => {
    for (let p = parentOf.get(id); p !== undefined; p = parentOf.get(p)) {
      const n = byId.get(p)!;
      if (n.callFrame.url !== '') return n;
    }
    return undefined;
  };
  const categories = new Map<string, number>();
  const functions = new Map<string, { fn: string; where: string; category: string; us: number }>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    let frame = node.callFrame;
    let category = categorize(frame);
    let fn = frame.functionName || '(anonymous)';
    if (category === 'V8 builtins') {
      const caller = jsCaller(id);
      if (caller) {
        frame = caller.callFrame;
        category = categorize(frame);
        fn = `${fn} <- ${frame.functionName || '(anonymous)'}`;
      }
    }
    categories.set(category, (categories.get(category) ?? 0) + us);
    const where = frame.url ? `${frame.url.replace(/^.*\/(dist|src|node_modules)\//, '$1/')}:${frame.lineNumber + 1}` : '(native)';
    const key = `${fn}@${where}`;
    const f = functions.get(key) ?? { fn, where, category, us: 0 };
    f.us += us;
    functions.set(key, f);
  }
  const idleUs = categories.get('idle') ?? 0;
  const totalUs = [...categories.values()].reduce((a, b) => a + b, 0);
  const busyUs = totalUs - idleUs;
  const pct = (us: number) => Math.round((us / busyUs) * 1000) / 10;
  return {
    file,
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs: busyUs / 1000,
    categories: [...categories.entries()]
      .filter(([name]) => name !== 'idle')
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10, pctOfBusy: pct(us) })),
    top: [...functions.values()]
      .filter((f) => f.category !== 'idle')
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((f) => ({ fn: f.fn, where: f.where, category: f.category, ms: Math.round(f.us / 100) / 10, pctOfBusy: pct(f.us) })),
  };
}

/** A profile summary as markdown tables. */
export function profileMarkdown(title: string, s: ProfileSummary): string {
  const lines = [
    `#### ${title}`,
    '',
    `${Math.round(s.busyMs)} ms busy of ${Math.round(s.wallMs)} ms profiled.`,
    '',
    '| category (self time) | ms | % of busy |',
    '|---|---:|---:|',
    ...s.categories.map((c) => `| ${c.name} | ${c.ms} | ${c.pctOfBusy} |`),
    '',
    '| function | where | category | ms | % of busy |',
    '|---|---|---|---:|---:|',
    ...s.top.map((f) => `| \`${f.fn}\` | ${f.where} | ${f.category} | ${f.ms} | ${f.pctOfBusy} |`),
  ];
  return lines.join('\n');
}
