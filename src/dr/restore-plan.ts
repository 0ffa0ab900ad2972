// The plan of a restore: which new cluster, which members with which IDs, which revision, which
// directories. Everything is checked here, before a byte is written, so bad flags never leave
// anything behind. IDs come from the member server's derivation, so members restored on
// different hosts with the same flags agree without talking.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UnsafeOperationError, UsageError } from '../errors.js';
import { deriveClusterIdentity, parseInitialCluster, parseUrlList, type IdentifiedMember } from '../server/cluster-identity.js';

/** The flags a restore is planned from. */
export interface RestoreRequest {
  readonly initialCluster: string;
  readonly token: string;
  /** One or more members to build here (the CLI builds one; a drill builds them all in one pass). */
  readonly targets: readonly { readonly name: string; readonly dataDir: string }[];
  /** When given (the CLI's --initial-advertise-peer-urls), must match the member's entry in --initial-cluster. */
  readonly advertisePeerUrls?: string;
  readonly bumpRevision?: number;
  readonly markCompacted?: boolean;
}

/** What the restore will build. */
export interface RestorePlan {
  readonly clusterId: string;
  readonly members: readonly IdentifiedMember[];
  readonly targets: readonly { readonly member: IdentifiedMember; readonly dataDir: string }[];
  readonly bumpRevision: number;
  readonly markCompacted: boolean;
}

/** Checks the flags and derives the new cluster's identity; throws UsageError or UnsafeOperationError. */
export function planRestore(request: RestoreRequest): RestorePlan {
  if (!request.token || request.token.trim() === '') {
    throw new UsageError('--initial-cluster-token is required and must not be empty', 'give the new cluster its own token, for example --initial-cluster-token prod-restored-2026-11-25');
  }
  const initial = parseInitialCluster(request.initialCluster, '--initial-cluster');
  const identity = deriveClusterIdentity(initial, request.token);
  const bump = request.bumpRevision ?? 0;
  const mark = request.markCompacted === true;
  if ((request.bumpRevision !== undefined) !== mark) {
    throw new UsageError('--bump-revision and --mark-compacted go together', 'give both (so watchers never see revisions go backwards) or neither, as with etcdutl');
  }
  if (!Number.isSafeInteger(bump) || bump < 0) {
    throw new UsageError(`--bump-revision must be a whole number >= 0, got ${request.bumpRevision}`, 'for example --bump-revision 1000000000 --mark-compacted');
  }
  const seenDirs = new Set<string>();
  const targets = request.targets.map((t) => {
    const member = identity.members.find((m) => m.name === t.name);
    if (!member) {
      throw new UsageError(
        `--name ${t.name} is not in --initial-cluster (${identity.members.map((m) => m.name).join(', ')})`,
        'give --name one of the names in --initial-cluster, exactly as written there',
      );
    }
    if (request.advertisePeerUrls !== undefined) {
      const advertised = parseUrlList(request.advertisePeerUrls, '--initial-advertise-peer-urls');
      const listed = [...member.peerURLs].sort().join(',');
      if ([...advertised].sort().join(',') !== listed) {
        throw new UsageError(
          `--initial-advertise-peer-urls ${advertised.join(',')} does not match ${t.name}'s entry in --initial-cluster (${member.peerURLs.join(',')})`,
          'use the same peer URLs in both flags',
        );
      }
    }
    const dataDir = resolve(t.dataDir);
    if (seenDirs.has(dataDir)) throw new UsageError(`two members would share --data-dir ${dataDir}`, 'give each member its own data directory');
    seenDirs.add(dataDir);
    refuseNonEmpty(dataDir);
    return { member, dataDir };
  });
  return { clusterId: identity.clusterId, members: identity.members, targets, bumpRevision: bump, markCompacted: mark };
}

function refuseNonEmpty(dataDir: string): void {
  if (!existsSync(dataDir)) return;
  if (!statSync(dataDir).isDirectory()) {
    throw new UnsafeOperationError(`--data-dir ${dataDir} exists and is not a directory`, 'choose a new path for the restored member');
  }
  if (readdirSync(dataDir).length > 0) {
    throw new UnsafeOperationError(
      `refusing to restore into --data-dir ${dataDir}: it is not empty`,
      'restore into a new or empty directory; move the old one away first if you really mean to replace it',
    );
  }
}
