// Reads `perf report --stdio --no-children --sort dso,sym` output (perf record -e cpu-clock on a
// member run with --perf-basic-prof) and groups on-CPU self time by layer. Unlike a V8 profile,
// cpu-clock samples only while the process is on a CPU, so time spent preempted by other work on
// a busy machine is not charged to whatever function happened to be running.

/** One group of on-CPU time. */
export interface PerfGroup {
  readonly name: string;
  readonly pct: number;
}

/** The layer a perf symbol belongs to. */
export function perfCategory(dso: string, sym: string): string {
  if (dso.includes('kernel')) {
    if (/tcp|inet|sock|skb|ip_|net_|__sys_sendto|sendmsg|recvmsg|loopback|__dev_queue|netif|napi|nf_/.test(sym)) return 'kernel: loopback TCP';
    if (/ext4|jbd2|blk|bio|fsync|sync_file|file_write|generic_perform_write|filemap|iomap|virtblk|submit_|writeback|page_cache|folio/.test(sym)) return 'kernel: file writes + fsync';
    if (/epoll|futex|schedule|switch|pick_next|finish_task|wake/.test(sym)) return 'kernel: scheduling, epoll, futex';
    return 'kernel: other (syscall entry, memory, ...)';
  }
  if (dso.startsWith('[JIT]') || sym.startsWith('JS:') || sym.startsWith('LazyCompile:') || sym.startsWith('Function:')) {
    const m = /\/(?:dist|src)\/([a-z-]+)\/([a-z0-9-]+)\.js/.exec(sym);
    if (m) {
      const [, folder, file] = m;
      if (folder === 'server' && /^(http|request|response)/.test(file!)) return 'JS: server HTTP API + JSON codec';
      return `JS: ${folder}`;
    }
    if (/node:(_http|http|internal\/http)/.test(sym)) return 'JS: node HTTP';
    if (/node:(net|_stream|stream|internal\/(streams|stream_base|net))/.test(sym)) return 'JS: node net + streams';
    if (/node:/.test(sym)) return 'JS: node other';
    return 'JS: other (builtins, stubs)';
  }
  if (/llhttp/.test(sym)) return 'native: HTTP parser (llhttp)';
  if (/JsonParse|JsonStringif|JSONParse|JSONStringify|JsonParser|JsonStringifier/i.test(sym)) return 'native: JSON';
  if (/Scaveng|MarkCompact|Heap::|GC|Sweep|Evacuat|Marking|RememberedSet|RecordWrite/.test(sym)) return 'native: GC';
  if (/^uv_|uv__/.test(sym)) return 'native: libuv';
  if (/Builtins_/.test(sym)) return 'native: V8 builtins';
  if (/crc32|Crc32|sha|SHA/.test(sym)) return 'native: checksums';
  if (dso.includes('libc')) return 'native: libc (memcpy, malloc, syscalls)';
  return 'native: V8/node runtime';
}

/** Groups a perf report's self-time percentages; also returns the top symbols. */
export function groupPerfReport(text: string, topN = 25): { groups: PerfGroup[]; top: { pct: number; dso: string; sym: string; group: string }[] } {
  const groups = new Map<string, number>();
  const top: { pct: number; dso: string; sym: string; group: string }[] = [];
  for (const line of text.split('\n')) {
    // "    12.34%  node   [.] v8::internal::Foo"  or  "  1.00%  [kernel.kallsyms]  [k] tcp_sendmsg"
    const m = /^\s*([\d.]+)%\s+(.+?)\s+\[([.k])\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const pct = Number(m[1]);
    const dso = m[3] === 'k' ? 'kernel' : m[2]!.trim();
    const sym = m[4]!.trim();
    const group = perfCategory(dso, sym);
    groups.set(group, (groups.get(group) ?? 0) + pct);
    top.push({ pct, dso, sym, group });
  }
  return {
    groups: [...groups.entries()].sort((a, b) => b[1] - a[1]).map(([name, pct]) => ({ name, pct: Math.round(pct * 10) / 10 })),
    top: top.sort((a, b) => b.pct - a.pct).slice(0, topN),
  };
}
