// What the live and the offline save share on the command line: the compression level and
// timeout flags, and one progress bar per phase.
import { DEFAULT_COMPRESSION_LEVEL, checkCompressionLevel } from '../archive/compression.js';
import { parseDuration } from '../duration.js';
import { UsageError } from '../errors.js';
import type { SaveProgress } from '../dr/save.js';
import { createProgress, type Progress } from './progress.js';

/** --compression-level as a checked zstd level (the default when absent). */
export function compressionLevelFlag(text: string | number | undefined): number {
  if (text === undefined) return DEFAULT_COMPRESSION_LEVEL;
  if (!/^\d+$/.test(String(text).trim())) throw new UsageError(`--compression-level must be a whole number, not ${text}`, 'for example --compression-level 3');
  return checkCompressionLevel(Number(text));
}

/** --timeout in milliseconds, or undefined for the size-scaled default. */
export function timeoutFlag(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text, '--timeout');
  if (ms <= 0) throw new UsageError('--timeout must be more than zero', 'for example --timeout 30m');
  return ms;
}

/** One bar per phase: receiving (size unknown), then storing and reading back (size known). */
export class PhaseBars {
  private phase: SaveProgress['phase'] | undefined;
  private bar: Progress | undefined;
  constructor(private readonly firstLabel = 'receiving') {}
  update(p: SaveProgress): void {
    if (p.phase !== this.phase) {
      this.bar?.finish();
      this.phase = p.phase;
      this.bar = createProgress({ receive: this.firstLabel, store: 'storing', verify: 'verifying' }[p.phase], p.total);
    }
    this.bar?.update(p.bytes);
  }
  finish(): void {
    this.bar?.finish();
  }
}
