// Wraps every command's action: one place turns errors into the one-line message, the
// `hint:` line and the exit code of PRODUCT.md section 5, and turns SIGINT/SIGTERM into an
// AbortSignal the job can honour (ending with exit 130, nothing committed).
import { setMaxListeners } from 'node:events';
import { ExitCode, InterruptedError, LifeboatError } from '../errors.js';
import { jsonDocumentWritten } from './output.js';

/** What every action receives besides its parsed options. */
export interface ActionContext {
  /** Aborted on SIGINT or SIGTERM; long jobs pass it down and stop cleanly. */
  readonly signal: AbortSignal;
  /** True when --json was given: stdout carries only JSON. */
  readonly json: boolean;
}

/**
 * Prints a failure as one line plus a hint line, and under --json the lifeboat.error/v1
 * document on stdout unless the command already wrote its own (which then carries the failure).
 */
export function reportFailure(err: unknown, json: boolean): ExitCode {
  const known = err instanceof LifeboatError;
  const exitCode: ExitCode = known ? err.exitCode : ExitCode.failure;
  const message = err instanceof Error ? err.message : String(err);
  const hint = known ? err.hint : 'this is unexpected; run again with LIFEBOAT_DEBUG=1 for a stack trace and report it';
  process.stderr.write(`lifeboat: ${firstLine(message)}\nhint: ${firstLine(hint)}\n`);
  if (process.env.LIFEBOAT_DEBUG && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  if (json && !jsonDocumentWritten()) {
    process.stdout.write(JSON.stringify({ schema: 'lifeboat.error/v1', error: firstLine(message), hint: firstLine(hint), exitCode }) + '\n');
  }
  return exitCode;
}

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return line.trim();
}

/**
 * Builds a commander action: runs `fn` with the options and a context, and sets the exit code.
 * The last argument commander passes is the Command; the one before it the options object.
 */
export function action<A extends unknown[]>(fn: (ctx: ActionContext, ...args: A) => Promise<ExitCode | void>) {
  return async (...args: unknown[]): Promise<void> => {
    const options = (args[args.length - 2] ?? {}) as { json?: boolean };
    const json = options.json === true;
    const controller = new AbortController();
    // One signal is shared by every request a job has in flight (dozens at once when loading
    // data), so the default limit of 10 listeners would warn about a leak that is not one.
    setMaxListeners(0, controller.signal);
    const onSignal = (name: NodeJS.Signals) => {
      if (controller.signal.aborted) {
        // A second Ctrl-C means "now": give up on the clean stop, still with the two lines. The
        // exit itself kills local members and removes the jobs' temporary directories
        // synchronously (local-cluster.ts, dr/restore-scratch.ts), so nothing is left behind.
        process.exit(reportFailure(new InterruptedError(`interrupted again by ${name}: stopped at once, without waiting for the clean stop`), json));
      }
      // Not a `lifeboat:` line: the run has not failed yet, and the failure line comes at the end.
      process.stderr.write(`${name} received: stopping cleanly (press Ctrl-C again to force)\n`);
      controller.abort(new InterruptedError(`interrupted by ${name}`));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const code = await fn({ signal: controller.signal, json }, ...(args.slice(0, -1) as A));
      process.exitCode = code ?? ExitCode.ok;
    } catch (err) {
      const reason = controller.signal.aborted && !(err instanceof LifeboatError) ? controller.signal.reason : err;
      process.exitCode = reportFailure(reason, json);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  };
}
