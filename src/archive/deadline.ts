// The save's timeout. A cron job must never hang, but a fixed deadline either kills big
// snapshots or lets a stuck small one hang for hours. So by default the budget grows with the
// bytes that have arrived (a base plus one second per MiB/s floor), and a stream that stops
// moving fails fast; an explicit --timeout is a hard ceiling instead.
import { ClusterUnavailableError } from '../errors.js';
import { formatDurationShort } from './format-duration.js';

export interface DeadlineOptions {
  /** Hard limit in ms (from --timeout); when absent, the scaled default applies. */
  readonly timeoutMs?: number;
  /** Scaled default: base budget (default 5 min). */
  readonly baseMs?: number;
  /** Scaled default: extra budget per received MiB (default 1 s, i.e. a 1 MiB/s floor). */
  readonly msPerMiB?: number;
  /** Fail when no byte arrived for this long (default 2 min). */
  readonly stallMs?: number;
  /** What is being waited for, for the message ("the snapshot stream from http://..."). */
  readonly what: string;
  /** Clock, for tests. */
  readonly now?: () => number;
  /** Check period (default 1 s). */
  readonly tickMs?: number;
}

/** A running deadline: feed it progress, read its signal, stop it when done. */
export interface Deadline {
  readonly signal: AbortSignal;
  progress(bytes: number): void;
  stop(): void;
}

/** Starts a deadline whose signal aborts with a ClusterUnavailableError (exit 3). */
export function startDeadline(options: DeadlineOptions): Deadline {
  const now = options.now ?? Date.now;
  const controller = new AbortController();
  const started = now();
  let lastBytes = 0;
  let lastMove = started;
  const base = options.baseMs ?? 5 * 60_000;
  const perMiB = options.msPerMiB ?? 1000;
  const stall = options.stallMs ?? 2 * 60_000;
  const check = () => {
    const t = now();
    const elapsed = t - started;
    let why: string | undefined;
    if (options.timeoutMs !== undefined) {
      if (elapsed > options.timeoutMs) why = `timed out after ${formatDurationShort(options.timeoutMs)} (--timeout)`;
    } else if (elapsed > base + (lastBytes / 1048576) * perMiB) {
      why = `timed out after ${formatDurationShort(elapsed)} with ${lastBytes} bytes received (slower than the default budget)`;
    }
    if (!why && t - lastMove > stall) why = `stalled: no data for ${formatDurationShort(t - lastMove)}`;
    if (why) {
      clearInterval(timer);
      controller.abort(
        new ClusterUnavailableError(`${options.what} ${why}`, 'check the member and the network; raise --timeout if the snapshot is just large'),
      );
    }
  };
  // Not unref'd: a stalled stream may hold nothing else open, and the deadline must still fire.
  const timer = setInterval(check, options.tickMs ?? 1000);
  return {
    signal: controller.signal,
    progress(bytes: number) {
      if (bytes !== lastBytes) {
        lastBytes = bytes;
        lastMove = now();
      }
    },
    stop() {
      clearInterval(timer);
    },
  };
}
