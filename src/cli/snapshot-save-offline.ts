// `snapshot save --from-data-dir DIR`: the CLI side of an offline backup (src/dr/offline-backup.ts).
// snapshot-save-command.ts routes to runOfflineSave() when the flag is given, and prints the
// result with printSaveResult() like any other save.
import { UsageError } from '../errors.js';
import type { OfflineSaveResult } from '../dr/offline-backup.js';
import type { Repository } from '../repo/repository.js';
import { log } from './output.js';
import { PhaseBars, compressionLevelFlag, timeoutFlag } from './save-options.js';
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
  const compressionLevel = compressionLevelFlag(flags.compressionLevel);
  const timeoutMs = timeoutFlag(flags.timeout);
  const bars = new PhaseBars('reading');
  // Loaded only for an offline save: it brings the WAL, raft log replay and the key-value store,
  // which a save from a live cluster never needs (about 40 modules of start-up).
  const { saveFromDataDir } = await import('../dr/offline-backup.js');
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
      onProgress: (p) => bars.update(p),
    });
    return { repo, result };
  } finally {
    bars.finish();
  }
}
