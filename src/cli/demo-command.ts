// `lifeboat demo`: the README's first command. No flags needed.
import type { Command } from 'commander';
import { DrillFailedError } from '../errors.js';
import { runDemo } from '../dr/demo.js';
import { printReport } from './drill-command.js';
import { log } from './output.js';
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
    .action(
      action(async (ctx, flags: DemoFlags) => {
        const { drill } = await runDemo({ backupDir: flags.backupDir, keys: Math.max(1, Number(flags.keys) || 3000), signal: ctx.signal, log });
        printReport(drill.report);
        if (drill.error) throw drill.error;
        if (drill.report.result !== 'pass') {
          throw new DrillFailedError('the demo drill failed', 'see the checks above; run npm test to find what broke');
        }
        log(`done: the backup in ${flags.backupDir} is proven restorable. Try: lifeboat snapshot list --repo ${flags.backupDir}`);
      }),
    );
}
