// `snapshot save --from-data-dir DIR`: the CLI side of an offline backup (src/dr/offline-backup.ts).
// snapshot-save-command.ts routes to runOfflineSave() when the flag is given, and prints the
// result with printSaveResult() like any other save.
import { DEFAULT_COMPRESSION_LEVEL, checkCompressionLevel } from '../archive/compression.js';
import { parseDuration } from '../duration.js';
import { UsageError } from '../errors.js';
import { saveFromDataDir, type OfflineSaveResult } from '../dr/offline-backup.js';
import type { SaveProgress } from '../dr/save.js';
import type { Repository } from '../repo/repository.js';
import { log } from './output.js';
import { createProgress, type Progress } from './progress.js';
import { repositoryFromFlags, type RepoFlags } from './repo-options.js';
import type { ActionContext } from './run-action.js';

/** The flags an offline save uses. */
export type OfflineSaveFlags = { readonly fromDataDir: string } & RepoFlags & {
  readonly compressionLevel?: string | number;
  readonly spoolDir?: string;
  readonly timeout?: string;
  readonly json?: boolean;
  /** Apply log entries past the recorded commit index too (multi-member clusters only differ). */
  readonly includeUncommitted?: boolean;
};

/** Backs up a stopped member's data directory; returns the repository and the committed result. */
export async function runOfflineSave(ctx: ActionContext, flags: OfflineSaveFlags, repo: Repository = repositoryFromFlags(flags)): Promise<{ repo: Repository; result: OfflineSaveResult }> {
  if (typeof flags.fromDataDir !== 'string' || flags.fromDataDir.trim() === '') {
    throw new UsageError('--from-data-dir needs a directory', 'for example --from-data-dir /var/lib/lifeboat/n1');
  }
  const compressionLevel = flags.compressionLevel === undefined ? DEFAULT_COMPRESSION_LEVEL : checkCompressionLevel(parseLevel(String(flags.compressionLevel)));
  const timeoutMs = flags.timeout === undefined ? undefined : parseDuration(flags.timeout, '--timeout');
  if (timeoutMs !== undefined && timeoutMs <= 0) throw new UsageError('--timeout must be more than zero', 'for example --timeout 30m');
  let phase: SaveProgress['phase'] | undefined;
  let bar: Progress | undefined;
  try {
    const result = await saveFromDataDir({
      dataDir: flags.fromDataDir,
      repo,
      compressionLevel,
      timeoutMs,
      spoolDir: flags.spoolDir,
      includeUncommitted: flags.includeUncommitted === true,
      signal: ctx.signal,
      log: (line) => log(`warning: ${line}`),
      onProgress: (p) => {
        if (p.phase !== phase) {
          bar?.finish();
          phase = p.phase;
          bar = createProgress({ receive: 'reading', store: 'storing', verify: 'verifying' }[p.phase], p.total);
        }
        bar?.update(p.bytes);
      },
    });
    return { repo, result };
  } finally {
    bar?.finish();
  }
}

function parseLevel(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`--compression-level must be a whole number, not ${text}`, 'for example --compression-level 3');
  return Number(text);
}
