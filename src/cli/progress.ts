// A progress bar for long work: bytes, rate and ETA on stderr, only when stderr is a terminal
// (cron logs and CI logs stay clean).
import { formatBytes } from './output.js';

export interface Progress {
  /** Reports the total bytes done so far. */
  update(done: number): void;
  /** Clears the bar. */
  finish(): void;
}

/** A bar labelled `label`; `total` may be unknown. A no-op when stderr is not a TTY. */
export function createProgress(label: string, total?: number): Progress {
  if (!process.stderr.isTTY) return { update() {}, finish() {} };
  const started = Date.now();
  let lastDraw = 0;
  const draw = (done: number, force: boolean) => {
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    const seconds = Math.max((now - started) / 1000, 0.001);
    const rate = done / seconds;
    let text = `${label} ${formatBytes(done)}`;
    if (total && total > 0) {
      const fraction = Math.min(done / total, 1);
      const width = 24;
      const filled = Math.round(fraction * width);
      const eta = rate > 0 ? Math.max(0, (total - done) / rate) : 0;
      text = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${formatBytes(done)}/${formatBytes(total)} ${formatBytes(rate)}/s ETA ${eta.toFixed(0)}s`;
    } else {
      text += ` ${formatBytes(rate)}/s`;
    }
    process.stderr.write(`\r\x1b[K${text}`);
  };
  return {
    update: (done) => draw(done, false),
    finish: () => process.stderr.write('\r\x1b[K'),
  };
}
