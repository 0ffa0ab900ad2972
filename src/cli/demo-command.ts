// `lifeboat demo`: the README's first command. No flags needed.
import type { Command } from 'commander';
import { DrillFailedError, UsageError } from '../errors.js';
import { printReport } from './drill-command.js';
import { log, printJson } from './output.js';
import { action } from './run-action.js';

interface DemoFlags {
  readonly backupDir: string;
  readonly keys: string;
}

/** Registers `demo`. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('start a local 3-member cluster, load sample data, save, verify and drill a snapshot, stop everything')
    .option('--backup-dir <dir>', 'where the snapshot is saved', 'lifeboat-backups')
    .option('--keys <n>', 'how many sample keys to load', '3000')
    .option('--json', 'print the result (the snapshot and its drill report) as JSON on stdout')
    .action(
      action(async (ctx, flags: DemoFlags) => {
        const keys = Number(flags.keys);
        if (!/^\d+$/.test(flags.keys) || keys < 1) throw new UsageError(`--keys must be a whole number of at least 1, got "${flags.keys}"`, 'for example --keys 3000');
        const { runDemo } = await import('../dr/demo.js');
        const { manifest, drill } = await runDemo({ backupDir: flags.backupDir, keys, signal: ctx.signal, log });
        if (ctx.json) printJson('lifeboat.demo/v1', { backupDir: flags.backupDir, snapshotId: manifest.id, keys: manifest.keyCount, drill: drill.report });
        else printReport(drill.report);
        if (drill.error) throw drill.error;
        if (drill.report.result !== 'pass') {
          throw new DrillFailedError('the demo drill failed', 'see the checks above; run npm test to find what broke');
        }
        log(`done: the backup in ${flags.backupDir} is proven restorable. Try: lifeboat snapshot list --repo ${flags.backupDir}`);
      }),
    );
}
