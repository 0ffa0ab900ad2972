// The `lifeboat` command: builds the commander program from one file per command group.
import { Command, CommanderError } from 'commander';
import { ExitCode } from '../errors.js';
import { registerServeCommand } from './serve-command.js';
import { registerClientCommands } from './client-commands.js';
import { registerClusterCommand } from './cluster-command.js';
import { registerSnapshotSaveCommand } from './snapshot-save-command.js';
import { registerSnapshotReadCommands } from './snapshot-read-commands.js';
import { registerSnapshotRestoreCommand } from './snapshot-restore-command.js';
import { registerSnapshotPruneCommand } from './snapshot-prune-command.js';
import { registerDrillCommand } from './drill-command.js';
import { registerDemoCommand } from './demo-command.js';
import { VERSION } from '../version.js';

/** Builds the whole program; exported for tests that parse without spawning. */
export function buildProgram(): Command {
  const program = new Command('lifeboat')
    .description('Backup, restore and disaster recovery for a Raft key-value store')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'lifeboat: ')) });
  registerServeCommand(program);
  registerClientCommands(program);
  registerClusterCommand(program);
  const snapshot = program.command('snapshot').description('save, list, inspect, dump, verify, prune and restore snapshots');
  registerSnapshotSaveCommand(snapshot);
  registerSnapshotReadCommands(snapshot);
  registerSnapshotRestoreCommand(snapshot);
  registerSnapshotPruneCommand(snapshot);
  registerDrillCommand(program);
  registerDemoCommand(program);
  // Subcommands inherit exitOverride so usage errors come back here as exit code 2.
  for (const command of walk(program)) command.exitOverride();
  return program;
}

function* walk(command: Command): Generator<Command> {
  yield command;
  for (const sub of command.commands) yield* walk(sub);
}

/** Entry point used by bin/lifeboat. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        process.exitCode = ExitCode.ok;
        return;
      }
      process.stderr.write('hint: run `lifeboat <command> --help` to see its flags\n');
      process.exitCode = ExitCode.usage;
      return;
    }
    throw err;
  }
}
