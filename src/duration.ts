// Human durations for flags such as --timeout, --lock-timeout and --keep-within.
import { UsageError } from './errors.js';

/** Parses "90m", "36h", "7d", "2w", "1d12h" into milliseconds; UsageError names the flag otherwise. */
export function parseDuration(text: string, flag: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };
  const pattern = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g;
  let total = 0;
  let consumed = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index !== consumed) break;
    total += Number(match[1]) * units[match[2]!]!;
    consumed += match[0].length;
  }
  if (text.length === 0 || consumed !== text.length) {
    throw new UsageError(`${flag}: cannot read "${text}" as a duration`, `use a number with a unit, for example ${flag} 30s, 15m, 36h or 7d`);
  }
  return total;
}
