// The `lifeboat` command: builds the commander program from one file per command group.
import { Command, CommanderError } from 'commander';
import { ExitCode, UsageError } from '../errors.js';
import { reportFailure } from './run-action.js';
import { VERSION } from '../version.js';

/**
 * The command groups, in help order, each loaded only when needed: every `lifeboat` start (each
 * member's `serve`, each restore of a drill) would otherwise import every command's modules.
 */
const GROUPS: ReadonlyArray<{ words: readonly string[]; register: (program: Command) => Promise<void> }> = [
  { words: ['serve'], register: async (p) => (await import('./serve-command.js')).registerServeCommand(p) },
  { words: ['put', 'get', 'del', 'member', 'endpoint'], register: async (p) => (await import('./client-commands.js')).registerClientCommands(p) },
  { words: ['cluster'], register: async (p) => (await import('./cluster-command.js')).registerClusterCommand(p) },
  { words: ['snapshot'], register: registerSnapshotCommands },
  { words: ['drill'], register: async (p) => (await import('./drill-command.js')).registerDrillCommand(p) },
  { words: ['demo'], register: async (p) => (await import('./demo-command.js')).registerDemoCommand(p) },
];

async function registerSnapshotCommands(program: Command): Promise<void> {
  const [save, read, restore, prune] = await Promise.all([
    import('./snapshot-save-command.js'),
    import('./snapshot-read-commands.js'),
    import('./snapshot-restore-command.js'),
    import('./snapshot-prune-command.js'),
  ]);
  const snapshot = program.command('snapshot').description('save, list, inspect, dump, verify, prune and restore snapshots');
  save.registerSnapshotSaveCommand(snapshot);
  read.registerSnapshotReadCommands(snapshot);
  restore.registerSnapshotRestoreCommand(snapshot);
  prune.registerSnapshotPruneCommand(snapshot);
}

/**
 * Builds the program: with `argv`, only the group its first word names (none for --version;
 * all of them for help, a typo's suggestions, or no command at all).
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const program = new Command('lifeboat')
    .description('Backup, restore and disaster recovery for a Raft key-value store')
    .version(VERSION)
    .exitOverride();
  const word = argv?.slice(2).find((a) => !a.startsWith('-'));
  const named = GROUPS.find((g) => word !== undefined && g.words.includes(word));
  const versionOnly = word === undefined && argv !== undefined && argv.length > 2 && argv.slice(2).every((a) => a === '--version' || a === '-V');
  for (const group of named ? [named] : versionOnly ? [] : GROUPS) await group.register(program);
  for (const command of walk(program)) {
    // Subcommands inherit exitOverride so usage errors come back to main() as exit code 2.
    command.exitOverride();
    command.configureOutput({ outputError: (text) => usageFailure.record(text, commandPath(command)) });
  }
  return program;
}

/**
 * Commander's error text, reshaped into the contract's two lines: its message becomes the
 * `lifeboat:` line, and its "(Did you mean ...?)" line moves into the hint with the help
 * command of the command that failed.
 */
const usageFailure = {
  message: undefined as string | undefined,
  hint: undefined as string | undefined,
  record(text: string, path: string): void {
    const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
    const suggestion = lines.find((l) => /^\(Did you mean/.test(l))?.replace(/^\((.*)\)$/, '$1');
    this.message = (lines.find((l) => !/^\(Did you mean/.test(l)) ?? 'invalid arguments').replace(/^error: /, '');
    const help = `run \`${path} --help\` to see its flags`;
    this.hint = suggestion ? `${suggestion.replace(/^Did/, 'did')} ${help}` : help;
  },
};

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * The AWS SDK warns on every run under Node 20 that its 2027 releases will need Node 22: a
 * multi-line "(node:PID) Warning" on stderr that cron mails and log alerts mistake for a
 * failure. That one warning is switched off through the SDK's own setting (unless the user set
 * it); every other Node warning still prints.
 */
function silenceSdkNodeVersionWarning(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

function* walk(command: Command): Generator<Command> {
  yield command;
  for (const sub of command.commands) yield* walk(sub);
}

/** True when --json appears among the options (not after a `--`). */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/** Entry point used by bin/lifeboat. */
export async function main(argv: string[]): Promise<void> {
  silenceSdkNodeVersionWarning();
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0 && ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code)) {
        process.exitCode = ExitCode.ok;
        return;
      }
      // A command group without its subcommand (`lifeboat snapshot`) printed the group's help;
      // in a cron line that is a mistake, so it must not pass as success.
      const message = err.code === 'commander.help' ? 'no command given' : (usageFailure.message ?? err.message.replace(/^error: /, ''));
      const hint = usageFailure.hint ?? 'run `lifeboat --help` to see the commands';
      process.exitCode = reportFailure(new UsageError(message, hint), wantsJson(argv));
      return;
    }
    throw err;
  }
}
