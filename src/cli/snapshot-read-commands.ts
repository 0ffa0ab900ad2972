// `snapshot list`, `snapshot inspect`, `snapshot dump`, `snapshot verify`: the read side.
import type { Command } from 'commander';
import { once } from 'node:events';
import { ExitCode, IntegrityError, NotFoundError, UsageError } from '../errors.js';
import { listSnapshots, resolveSnapshot, type CatalogEntry } from '../dr/catalog.js';
import { dumpLine, dumpSnapshotRef, inspectSnapshotRef, verifyAll, verifySnapshotRef, type VerifyReport } from '../dr/verify.js';
import type { KeyValueRecord } from '../kv/record.js';
import { action } from './run-action.js';
import { clusterIdFlag } from './flag-values.js';
import { formatBytes, log, printJson, renderTable } from './output.js';
import { createProgress } from './progress.js';
import { addRepoOptions, optionalRepositoryFromFlags, repositoryFromFlags, type RepoFlags } from './repo-options.js';

interface ReadFlags extends RepoFlags {
  readonly json?: boolean;
  readonly cluster?: string;
  readonly all?: boolean;
}

/** Registers list, inspect, dump and verify under `snapshot`. */
export function registerSnapshotReadCommands(parent: Command): void {
  addRepoOptions(parent.command('list').description('list the committed snapshots of a repository'))
    .option('--cluster <id>', 'only snapshots of this cluster ID')
    .option('--json', 'print JSON on stdout')
    .action(action(async (ctx, flags: ReadFlags) => {
      clusterIdFlag(flags.cluster);
      const repo = repositoryFromFlags(flags);
      const catalog = await listSnapshots(repo);
      for (const problem of catalog.problems) log(`warning: ${problem}`);
      if (catalog.incomplete.length > 0) log(`note: ${catalog.incomplete.length} incomplete upload(s) without a manifest (interrupted saves; never restored; prune removes them)`);
      const snapshots = catalog.snapshots.filter((s) => !flags.cluster || s.clusterId === flags.cluster);
      if (ctx.json) {
        printJson('lifeboat.snapshot.list/v1', { repository: repo.url, snapshots: snapshots.map(listJson), problems: catalog.problems, incomplete: catalog.incomplete });
        return;
      }
      if (snapshots.length === 0) {
        const others = catalog.snapshots.length;
        log(flags.cluster && others > 0 ? `no snapshots of cluster ${flags.cluster} in ${repo.url} (it holds ${others} of other clusters)` : `no snapshots in ${repo.url}`);
        return;
      }
      const rows = snapshots.map((s) => [
        s.id,
        s.manifest.createdAt.replace(/\.\d{3}Z$/, 'Z'),
        s.clusterId,
        s.manifest.revision,
        s.manifest.keyCount,
        formatBytes(s.manifest.snapshotBytes),
        formatBytes(s.manifest.archiveBytes),
        !s.archivePresent ? 'ARCHIVE MISSING' : s.verified ? `yes (${s.manifest.consistency})` : 'no',
        s.lastDrill ? `${s.lastDrill.result} ${s.lastDrill.finishedAt.replace(/\.\d{3}Z$/, 'Z')}` : '-',
      ]);
      process.stdout.write(renderTable(['id', 'created', 'cluster', 'revision', 'keys', 'size', 'compressed', 'verified', 'last drill'], rows) + '\n');
    }));

  addRepoOptions(parent.command('inspect').description('show a snapshot\'s manifest and header (after checking it completely)'))
    .argument('<snapshot>', 'a snapshot ID, "latest", or the path of an archive or snapshot file')
    .option('--json', 'print JSON on stdout')
    .action(action(async (ctx, ref: string, flags: ReadFlags) => {
      const repo = optionalRepositoryFromFlags(flags);
      const target = await resolveSnapshot(repo, ref);
      const progress = createProgress('reading', target.kind === 'repo' ? target.entry.manifest.archiveBytes : undefined);
      const report = await inspectSnapshotRef(repo, target, { signal: ctx.signal, onProgress: (b) => progress.update(b) }).finally(() => progress.finish());
      if (ctx.json) {
        printJson('lifeboat.snapshot.inspect/v1', inspectJson(report));
        return;
      }
      process.stdout.write(renderTable(['field', 'value'], inspectRows(report)) + '\n');
    }));

  addRepoOptions(parent.command('dump').description('print every record as JSON lines (key and value base64) on stdout'))
    .argument('<snapshot>', 'a snapshot ID, "latest", or the path of an archive or snapshot file')
    .option('--json', 'JSON lines on stdout (the only format; accepted so every command takes --json)')
    .action(action(async (ctx, ref: string, flags: ReadFlags) => {
      const repo = optionalRepositoryFromFlags(flags);
      const target = await resolveSnapshot(repo, ref);
      const out = process.stdout;
      let closed = false;
      const onError = () => (closed = true); // a reader like `head` went away: stop quietly
      out.on('error', onError);
      try {
        await dumpSnapshotRef(repo, target, async (records: readonly KeyValueRecord[]) => {
          if (closed) throw new StopDump();
          let text = '';
          for (const r of records) text += JSON.stringify(dumpLine(r)) + '\n';
          if (!out.write(text)) await Promise.race([once(out, 'drain'), once(out, 'close')]);
        }, { signal: ctx.signal });
      } catch (err) {
        if (!(err instanceof StopDump) && !closed) throw err;
      } finally {
        out.off('error', onError);
      }
    }));

  addRepoOptions(parent.command('verify').description('read snapshots back completely and check every checksum, count and hash'))
    .argument('[snapshot]', 'a snapshot ID, "latest", or the path of an archive or snapshot file')
    .option('--all', 'verify every snapshot in the repository')
    .option('--json', 'print JSON on stdout')
    .action(action(async (ctx, ref: string | undefined, flags: ReadFlags) => {
      if (flags.all && ref) throw new UsageError('give either a snapshot or --all, not both', 'lifeboat snapshot verify latest, or lifeboat snapshot verify --all');
      if (!flags.all && !ref) throw new UsageError('which snapshot? give an ID, "latest", a file, or --all', 'lifeboat snapshot verify latest --repo R');
      if (flags.all) {
        const repo = repositoryFromFlags(flags);
        const { outcomes, problems } = await verifyAll(repo, {
          signal: ctx.signal,
          onResult: (o) => log(o.error ? `FAILED ${o.entry.id}: ${o.error.message}` : `ok     ${o.entry.id} (${o.report!.summary.trailer.recordCount} keys, revision ${o.report!.header.revision})`),
        });
        if (outcomes.length === 0 && problems.length === 0) {
          throw new NotFoundError(`no snapshots in ${repo.url}`, 'take one with lifeboat snapshot save --endpoints URLS --repo ' + repo.url);
        }
        for (const problem of problems) log(`FAILED ${problem}`);
        const failed = outcomes.filter((o) => o.error);
        if (ctx.json) {
          printJson('lifeboat.snapshot.verify/v1', {
            repository: repo.url,
            results: outcomes.map((o) => ({ id: o.entry.id, ok: !o.error, error: o.error?.message, exitCode: o.error?.exitCode })),
            problems,
          });
        }
        const failures = failed.length + problems.length;
        if (failures === 0) return ExitCode.ok;
        const error = new IntegrityError(
          `${failures} of ${outcomes.length + problems.length} snapshots failed verification: ${[...failed.map((o) => o.entry.id), ...(problems.length ? [`${problems.length} unreadable manifest(s)`] : [])].join(', ')}`,
          'do not restore from those; restore from a snapshot that passed and check the storage',
        );
        // Under --json the results document above is the answer; the failure adds only its two lines on stderr.
        throw error;
      }
      const repo = optionalRepositoryFromFlags(flags);
      const target = await resolveSnapshot(repo, ref!);
      const progress = createProgress('verifying', target.kind === 'repo' ? target.entry.manifest.archiveBytes : undefined);
      const report = await verifySnapshotRef(repo, target, { signal: ctx.signal, onProgress: (b) => progress.update(b) }).finally(() => progress.finish());
      if (ctx.json) {
        printJson('lifeboat.snapshot.verify/v1', { results: [{ id: report.target, ok: true, ...verifySummary(report) }] });
      } else {
        log(`ok ${report.target}: ${report.summary.trailer.recordCount} keys at revision ${report.header.revision}, every chunk, hash and count checked`);
      }
      return ExitCode.ok;
    }));
}

class StopDump extends Error {}

function listJson(s: CatalogEntry): Record<string, unknown> {
  const m = s.manifest;
  return {
    id: s.id,
    createdAt: m.createdAt,
    clusterId: m.clusterId,
    revision: m.revision,
    keyCount: m.keyCount,
    snapshotBytes: m.snapshotBytes,
    archiveBytes: m.archiveBytes,
    consistency: m.consistency,
    verified: s.verified,
    archivePresent: s.archivePresent,
    lastDrill: s.lastDrill ?? null,
  };
}

function verifySummary(r: VerifyReport): Record<string, unknown> {
  return {
    kind: r.kind,
    revision: r.header.revision,
    keyCount: r.summary.trailer.recordCount,
    kvHash: r.summary.kvHash,
    snapshotBytes: r.snapshotBytes,
    snapshotSha256: r.snapshotSha256,
    archiveBytes: r.archiveBytes ?? null,
    archiveSha256: r.archiveSha256 ?? null,
  };
}

function inspectJson(r: VerifyReport): Record<string, unknown> {
  return {
    target: r.target,
    kind: r.kind,
    verified: true,
    manifest: r.manifest ?? null,
    entryManifest: r.entryManifest ?? null,
    header: r.header,
    trailer: r.summary.trailer,
    ...verifySummary(r),
  };
}

function inspectRows(r: VerifyReport): (string | number)[][] {
  const h = r.header;
  const m = r.manifest ?? r.entryManifest;
  const rows: (string | number)[][] = [
    ['snapshot', r.target],
    ['kind', r.kind],
    ['cluster ID', h.clusterId],
    ['members', h.members.map((x) => `${x.name} ${x.id}${x.isLearner ? ' (learner)' : ''}`).join('\n') || '-'],
    ['source member', h.sourceMember],
    ['raft index / term', `${h.raftIndex} / ${h.raftTerm}`],
    ['revision', h.revision],
    ['compact revision', h.compactRevision],
    ['keys', h.keyCount],
    ['KV hash', r.summary.kvHash],
    ['snapshot format', `v${h.formatVersion}`],
    ['snapshot taken', h.createdAt],
    ['snapshot size', `${formatBytes(r.snapshotBytes)} (${r.snapshotBytes} B)`],
    ['snapshot SHA-256', r.snapshotSha256],
  ];
  if (r.archiveBytes !== undefined) {
    rows.push(['archive size', `${formatBytes(r.archiveBytes)} (${r.archiveBytes} B)`], ['archive SHA-256', r.archiveSha256 ?? '-']);
  }
  if (m) {
    rows.push(['consistency', m.consistency], ['saved from', m.source], ['compression', `${m.compression} level ${m.compressionLevel}`], ['tool version', m.toolVersion]);
  }
  if (r.manifest) {
    const t = r.manifest.timings;
    rows.push(['saved', r.manifest.createdAt], ['verified at save', r.manifest.verifiedAt], ['save timings', `stream ${t.streamMs} ms, store ${t.uploadMs} ms, verify ${t.verifyMs} ms`]);
  }
  rows.push(['verified now', 'yes: every chunk CRC, the trailer, counts, KV hash' + (r.archiveSha256 ? ' and the archive SHA-256' : '')]);
  return rows;
}
