// `lifeboat cluster up`: a local multi-process cluster in the foreground, for trying things.
// Ctrl-C or SIGTERM stops every member cleanly and leaves no process behind.
import type { Command } from 'commander';
import { ExitCode, UsageError } from '../errors.js';
import { log, printJson } from './output.js';
import { action } from './run-action.js';

interface UpFlags {
  members: string;
  dataRoot: string;
  basePort?: string;
  snapshotCount?: string;
  quiet?: boolean;
  json?: boolean;
}

/** Registers `cluster up`. */
export function registerClusterCommand(parent: Command): void {
  const cluster = parent.command('cluster').description('run a local cluster for trying things');
  cluster
    .command('up')
    .description('run a local multi-process cluster in the foreground; Ctrl-C stops it')
    .option('--members <n>', 'how many members', '3')
    .requiredOption('--data-root <dir>', 'directory for the members\' data directories (reused on the next run)')
    .option('--base-port <port>', 'member i gets client port P+2i and peer port P+2i+1 (default: free ports)')
    .option('--snapshot-count <n>', 'applied entries between local snapshots (passed to every member)')
    .option('--quiet', 'do not echo the members\' logs')
    .option('--json', 'print the endpoints as one JSON document on stdout once the cluster is up')
    .action(action(async (ctx, flags: UpFlags) => {
      const members = Number(flags.members);
      if (!Number.isInteger(members)) throw new UsageError(`--members: "${flags.members}" is not a number`, 'use --members 3');
      const basePort = flags.basePort === undefined ? undefined : Number(flags.basePort);
      if (basePort !== undefined && !Number.isInteger(basePort)) throw new UsageError(`--base-port: "${flags.basePort}" is not a port`, 'use --base-port 2379');
      if (flags.snapshotCount !== undefined && !/^[1-9]\d*$/.test(flags.snapshotCount)) {
        throw new UsageError(`--snapshot-count: "${flags.snapshotCount}" is not a positive whole number`, 'use --snapshot-count 10000, or leave it out for the default');
      }
      const { planLocalCluster, startLocalCluster } = await import('../client/local-cluster.js');
      const plan = await planLocalCluster({ members, dataRoot: flags.dataRoot, basePort });
      log(`starting ${members} member(s) under ${plan.dataRoot} ...`);
      const cluster = await startLocalCluster(plan, {
        signal: ctx.signal,
        log: flags.quiet ? undefined : log,
        extraArgs: flags.snapshotCount ? ['--snapshot-count', flags.snapshotCount] : [],
      });
      const endpoints = cluster.endpoints.join(',');
      if (ctx.json) {
        printJson('lifeboat.cluster-up/v1', { endpoints: cluster.endpoints, members: plan.members, pids: cluster.pids });
      } else {
        process.stdout.write(`cluster is up: ${members} member(s)\n`);
        for (const m of plan.members) process.stdout.write(`  ${m.name}  client ${m.clientUrl}  peer ${m.peerUrl}  data ${m.dataDir}\n`);
        process.stdout.write(
          `\nin another shell:\n  export LIFEBOAT_ENDPOINTS=${endpoints}\n  lifeboat put hello world\n  lifeboat get hello\n  lifeboat endpoint status\n\npress Ctrl-C to stop\n`,
        );
      }
      // Run until interrupted, or until a member dies on its own (then stop the rest and fail).
      const outcome = await Promise.race([
        new Promise<'interrupted'>((res) => {
          if (ctx.signal.aborted) res('interrupted');
          else ctx.signal.addEventListener('abort', () => res('interrupted'), { once: true });
        }),
        cluster.unexpectedExit,
      ]);
      log('stopping every member ...');
      await cluster.stop();
      log('all members stopped');
      // Ctrl-C reaches the members too (same process group): their exit is then no surprise.
      if (outcome === 'interrupted' || ctx.signal.aborted) return ExitCode.ok;
      log(`lifeboat: member ${outcome.name} exited on its own (${outcome.signal ?? outcome.code}); stopped the others`);
      log('hint: see its log lines above');
      return ExitCode.failure;
    }));
}
