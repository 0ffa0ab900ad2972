// `snapshot restore`: builds one member's data directory for a new cluster from a snapshot,
// then tells the operator the exact `lifeboat serve` line that starts it.
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import type { RestorePlan } from '../dr/restore-plan.js';
import type { RestoreResult } from '../dr/restore.js';
import { log, printJson, renderTable } from './output.js';
import { createProgress } from './progress.js';
import { addRepoOptions, optionalRepositoryFromFlags, type RepoFlags } from './repo-options.js';
import { clusterIdFlag } from './flag-values.js';
import { action } from './run-action.js';

interface RestoreFlags extends RepoFlags {
  readonly name?: string;
  readonly dataDir?: string;
  readonly initialCluster?: string;
  readonly initialClusterToken?: string;
  readonly initialAdvertisePeerUrls?: string;
  readonly bumpRevision?: string;
  readonly markCompacted?: boolean;
  readonly dryRun?: boolean;
  readonly json?: boolean;
  readonly cluster?: string;
}

/** Registers `snapshot restore`. */
export function registerSnapshotRestoreCommand(parent: Command): void {
  const command = parent
    .command('restore')
    .description("verify a snapshot, then build one member's data directory for a new cluster with fresh membership")
    .argument('<snapshot>', 'a snapshot ID, "latest", or the path of a snapshot or archive file')
    .addOption(new Option('--name <name>', "this member's name in --initial-cluster").env('LIFEBOAT_NAME'))
    .addOption(new Option('--data-dir <dir>', 'the new data directory (must not exist or be empty)').env('LIFEBOAT_DATA_DIR'))
    .addOption(new Option('--initial-cluster <members>', 'the NEW cluster: name=peerURL,...').env('LIFEBOAT_INITIAL_CLUSTER'))
    .addOption(new Option('--initial-cluster-token <token>', 'the NEW cluster token (derives the new cluster and member IDs)').env('LIFEBOAT_INITIAL_CLUSTER_TOKEN'))
    .addOption(new Option('--initial-advertise-peer-urls <urls>', "this member's peer URLs; must match its --initial-cluster entry").env('LIFEBOAT_INITIAL_ADVERTISE_PEER_URLS'))
    .option('--bump-revision <n>', 'raise the revision by n (with --mark-compacted), so watchers never see it go backwards')
    .option('--mark-compacted', 'mark every revision up to the new one as compacted (with --bump-revision)')
    .option('--cluster <id>', 'with "latest": the source cluster whose newest snapshot to restore (needed when the repository holds several)')
    .option('--dry-run', 'print the plan and write nothing')
    .option('--json', 'print the result as JSON on stdout');
  addRepoOptions(command);
  command.action(
    action(async (ctx, snapshot: string, flags: RestoreFlags) => {
      // Loaded here, not at the top: every `lifeboat` start (a member's `serve` too) would pay for them.
      const [{ resolveSnapshot }, { planRestore }, { restoreSnapshot }, { verifySnapshotRef }] = await Promise.all([
        import('../dr/catalog.js'),
        import('../dr/restore-plan.js'),
        import('../dr/restore.js'),
        import('../dr/verify.js'),
      ]);
      const name = required(flags.name, '--name');
      clusterIdFlag(flags.cluster);
      const dataDir = required(flags.dataDir, '--data-dir');
      const plan = planRestore({
        initialCluster: required(flags.initialCluster, '--initial-cluster'),
        token: required(flags.initialClusterToken, '--initial-cluster-token'),
        advertisePeerUrls: flags.initialAdvertisePeerUrls,
        targets: [{ name, dataDir }],
        bumpRevision: flags.bumpRevision === undefined ? undefined : wholeNumber(flags.bumpRevision, '--bump-revision'),
        markCompacted: flags.markCompacted,
      });
      const repo = optionalRepositoryFromFlags(flags);
      const ref = await resolveSnapshot(repo, snapshot, flags.cluster, { oneCluster: true });
      if (flags.dryRun) {
        const source = ref.kind === 'repo' ? ref.entry.manifest : (await verifySnapshotRef(repo, ref, { signal: ctx.signal })).header;
        printPlan(plan, source.revision, ref.kind === 'repo' ? ref.entry.id : ref.path, ctx.json);
        if (ref.kind === 'repo') warnIfWeak(ref.entry.id, ref.entry.manifest.consistency);
        return;
      }
      const progress = createProgress('restoring');
      let result: RestoreResult;
      try {
        result = await restoreSnapshot({ repo, ref, plan, signal: ctx.signal, onProgress: (done) => progress.update(done) });
      } finally {
        progress.finish();
      }
      printResult(result, plan, name, flags.initialClusterToken!, ctx.json);
      if (ref.kind === 'repo') warnIfWeak(ref.entry.id, ref.entry.manifest.consistency);
    }),
  );
}

/** A snapshot that was not taken through the quorum may lack writes the cluster acknowledged: say so. */
function warnIfWeak(id: string, consistency: string): void {
  const why: Record<string, string> = {
    serializable: 'it was taken with --allow-stale from a member without quorum',
    offline: "it was taken from one stopped member's data directory",
  };
  if (why[consistency]) {
    log(`warning: snapshot ${id} is ${consistency}: ${why[consistency]}, so writes the cluster acknowledged after that member fell behind may be missing`);
  }
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value.trim() === '') {
    throw new UsageError(`${flag} is required`, `run lifeboat snapshot restore --help for an example`);
  }
  return value;
}

function wholeNumber(text: string, flag: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} must be a whole number, got "${text}"`, `for example ${flag} 1000000`);
  return Number(text);
}

function printPlan(plan: RestorePlan, sourceRevision: number, snapshot: string, json: boolean): void {
  const revision = sourceRevision + plan.bumpRevision;
  if (json) {
    printJson('lifeboat.snapshot.restore/v1', {
      dryRun: true,
      snapshot,
      clusterId: plan.clusterId,
      members: plan.members.map((m) => ({ id: m.id, name: m.name, peerURLs: m.peerURLs })),
      dataDirs: plan.targets.map((t) => t.dataDir),
      revision,
      compacted: plan.markCompacted,
    });
    return;
  }
  process.stdout.write(
    renderTable(['member', 'ID', 'peer URLs', 'built here'], plan.members.map((m) => [m.name, m.id, m.peerURLs.join(','), plan.targets.find((t) => t.member.id === m.id)?.dataDir ?? '-'])) + '\n',
  );
  log(`dry run: would restore ${snapshot} as new cluster ${plan.clusterId} at revision ${revision}${plan.markCompacted ? ' (all below compacted)' : ''}; nothing was written`);
}

function printResult(result: RestoreResult, plan: RestorePlan, name: string, token: string, json: boolean): void {
  const target = plan.targets[0]!;
  if (json) {
    printJson('lifeboat.snapshot.restore/v1', {
      dryRun: false,
      clusterId: result.clusterId,
      sourceClusterId: result.sourceClusterId,
      memberId: target.member.id,
      name,
      dataDir: target.dataDir,
      revision: result.revision,
      compactRevision: result.compactRevision,
      sourceRevision: result.sourceRevision,
      keys: result.keyCount,
      kvHash: result.kvHash,
      raftIndex: result.raftIndex,
      members: result.members.map((m) => ({ id: m.id, name: m.name, peerURLs: m.peerURLs })),
    });
    return;
  }
  log(`restored ${result.keyCount} keys at revision ${result.revision} into ${target.dataDir}`);
  log(`new cluster ${result.clusterId} (was ${result.sourceClusterId}); this member: ${name} ${target.member.id}`);
  log(`start it with the same --name, --data-dir, --initial-cluster and --initial-cluster-token:`);
  const cluster = plan.members.flatMap((m) => m.peerURLs.map((u) => `${m.name}=${u}`)).join(',');
  const peers = target.member.peerURLs.join(',');
  log(`  lifeboat serve --name ${name} --data-dir ${target.dataDir} --initial-cluster ${cluster} --initial-cluster-token ${token} --initial-advertise-peer-urls ${peers} --listen-peer-urls ${peers} --listen-client-urls <client URL>`);
}
