// Opening a member's data directory: checking that it belongs to this member of this cluster,
// bootstrapping a brand-new member (an initial snapshot at index 0 that holds the membership),
// joining an existing cluster (learning the cluster ID and our member ID from a peer), and
// loading what a restarted member had.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterUnavailableError, UsageError } from '../errors.js';
import { MvccStore } from '../kv/mvcc-store.js';
import type { SnapshotMetadata } from '../raft/types.js';
import { encodeSnapshot } from '../snapshot/index.js';
import { MemberStorage } from '../storage/member-storage.js';
import { readIdentity, writeIdentity } from '../storage/identity.js';
import { probeCluster, type ProbeAnswer } from '../transport/peer-transport.js';
import { deriveClusterIdentity, type InitialMember } from './cluster-identity.js';
import type { MemberBoot } from './member.js';
import { loadSnapshotFile, type LoadedState } from './member-snapshots.js';
import { Membership } from './membership.js';
import { StorageDurability } from './storage-adapter.js';
import { DeferredSyncFileSystem } from './deferred-sync-file-system.js';

export interface BootOptions {
  readonly name: string;
  readonly dataDir: string;
  readonly initialCluster: readonly InitialMember[];
  readonly clusterState: 'new' | 'existing';
  readonly token: string;
  readonly advertisePeerUrls: readonly string[];
  readonly advertiseClientUrls: readonly string[];
  readonly log: (line: string) => void;
  /** How long to keep asking peers for the membership when joining. */
  readonly joinTimeoutMs?: number;
}

/** The opened member: IDs, storage and loaded state. */
export interface BootResult {
  readonly clusterId: string;
  readonly memberId: string;
  readonly boot: MemberBoot;
}

const DATA_DIR_HINT = 'point --data-dir at this member\'s own directory, or at an empty one to start fresh';

/** Opens (and if needed initializes) the data directory for this member. */
export async function bootMember(opts: BootOptions): Promise<BootResult> {
  const fs = new DeferredSyncFileSystem();
  const identity = readIdentity(fs, opts.dataDir);
  let clusterId: string;
  let memberId: string;
  let initialMembers: Membership | undefined;
  let probed: ProbeAnswer | undefined;
  if (identity) {
    if (identity.name !== opts.name) {
      throw new UsageError(
        `--data-dir ${opts.dataDir} belongs to member "${identity.name}" (${identity.memberId}) of cluster ${identity.clusterId}, not to --name ${opts.name}`,
        DATA_DIR_HINT,
      );
    }
    if (opts.clusterState === 'new') {
      const derived = deriveClusterIdentity(opts.initialCluster, opts.token);
      const me = derived.members.find((m) => m.name === opts.name);
      if (derived.clusterId !== identity.clusterId || me?.id !== identity.memberId) {
        throw new UsageError(
          `--data-dir ${opts.dataDir} belongs to cluster ${identity.clusterId} (member ${identity.memberId}), but --initial-cluster and --initial-cluster-token describe cluster ${derived.clusterId}`,
          `${DATA_DIR_HINT}; or give the flags this directory was created with`,
        );
      }
      initialMembers = membershipOf(derived.members);
    }
    clusterId = identity.clusterId;
    memberId = identity.memberId;
  } else {
    if (existsSync(join(opts.dataDir, 'wal')) && readdirSync(join(opts.dataDir, 'wal')).length > 0) {
      throw new UsageError(`--data-dir ${opts.dataDir} holds a WAL but no member identity file`, 'restore the identity file, or move the directory away and start fresh');
    }
    if (opts.clusterState === 'new') {
      const derived = deriveClusterIdentity(opts.initialCluster, opts.token);
      const me = derived.members.find((m) => m.name === opts.name)!;
      clusterId = derived.clusterId;
      memberId = me.id;
      initialMembers = membershipOf(derived.members);
    } else {
      const answer = await askPeers(opts);
      probed = answer;
      const me = answer.members.find((m) => m.peerURLs.some((u) => opts.advertisePeerUrls.includes(u)));
      if (!me) {
        throw new UsageError(
          `--initial-cluster-state existing: cluster ${answer.clusterId} has no member with peer URLs ${opts.advertisePeerUrls.join(',')}`,
          `add this member first: lifeboat member add ${opts.name} --peer-urls ${opts.advertisePeerUrls.join(',')}`,
        );
      }
      clusterId = answer.clusterId;
      memberId = me.id;
    }
    writeIdentity(fs, opts.dataDir, { clusterId, memberId, name: opts.name });
  }

  const storage = await MemberStorage.open(fs, opts.dataDir, { log: opts.log });
  const rec = storage.recovered;
  let snapshot = rec.snapshot;
  const untouched = !snapshot && rec.entries.length === 0 && rec.hardState.term === 0;
  if (untouched && initialMembers) {
    // A brand-new member: the bootstrap membership lives in a snapshot at index 0, so a restart
    // (and a member that needs the state later) finds it like any other snapshot.
    const list = initialMembers.list();
    const metadata: SnapshotMetadata = { index: 0, term: 0, confState: { voters: list.map((m) => m.id), learners: [] } };
    const kv = new MvccStore();
    const header = {
      clusterId,
      members: list,
      raftIndex: 0,
      raftTerm: 0,
      revision: kv.revision,
      compactRevision: 0,
      keyCount: 0,
      createdAt: new Date().toISOString(),
      sourceMember: memberId,
      extra: { consistency: 'linearizable' as const },
    };
    await storage.saveSnapshot(metadata, encodeSnapshot(header, []));
    snapshot = { metadata, path: storage.snapshotPath(metadata) };
  }
  let state: LoadedState;
  if (snapshot) {
    const loaded = await loadSnapshotFile(snapshot.path);
    if (loaded.header.clusterId !== clusterId) {
      throw new UsageError(`the snapshot in --data-dir ${opts.dataDir} is of cluster ${loaded.header.clusterId}, not ${clusterId}`, DATA_DIR_HINT);
    }
    const hs = rec.hardState;
    state = {
      kv: loaded.kv,
      membership: loaded.membership,
      snapshotMetadata: snapshot.metadata,
      snapshotPath: snapshot.path,
      hardState: { term: hs.term, vote: hs.vote, commit: Math.max(hs.commit, snapshot.metadata.index) },
      entries: rec.entries,
    };
  } else {
    state = { kv: new MvccStore(), membership: new Membership(), hardState: rec.hardState, entries: rec.entries };
    // A joiner that has not received its first snapshot yet knows its peers only from a probe.
    probed ??= await askPeers(opts);
  }
  return {
    clusterId,
    memberId,
    boot: {
      durability: new StorageDurability(storage, fs),
      state,
      awaitingSnapshot: !snapshot,
      ...(probed ? { peerHints: probed.members.map((m) => ({ id: m.id, peerURLs: m.peerURLs })) } : {}),
    },
  };
}

function membershipOf(members: readonly { id: string; name: string; peerURLs: readonly string[] }[]): Membership {
  return new Membership(
    members.map((m) => ({
      id: m.id,
      name: m.name,
      peerURLs: [...m.peerURLs],
      // Every member must build the same table (it is replicated state): client URLs are published later.
      clientURLs: [],
      isLearner: false,
    })),
  );
}

async function askPeers(opts: BootOptions): Promise<ProbeAnswer> {
  const peers = opts.initialCluster.filter((m) => m.name !== opts.name).flatMap((m) => m.peerURLs);
  if (peers.length === 0) {
    throw new UsageError('--initial-cluster-state existing needs the other members in --initial-cluster', 'list the running members too, as etcd does');
  }
  const deadline = Date.now() + (opts.joinTimeoutMs ?? 30_000);
  const errors: string[] = [];
  for (;;) {
    for (const url of peers) {
      try {
        return await probeCluster(url, 2_000);
      } catch (err) {
        errors.push(`${url}: ${(err as Error).message}`);
      }
    }
    if (Date.now() > deadline) {
      throw new ClusterUnavailableError(`--initial-cluster-state existing: no member answered (${errors.slice(-peers.length).join('; ')})`, 'start this member once the existing members are up and reachable');
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
