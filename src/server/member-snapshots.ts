// The member's snapshot files: taking one every --snapshot-count applied entries (streamed from a
// key-value read view, so the loop never blocks), receiving one from the leader (verified while
// it is written), loading one into a fresh key-value store, and streaming one for a backup.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IntegrityError } from '../errors.js';
import { MvccStore } from '../kv/mvcc-store.js';
import type { Entry, HardState, Message, SnapshotMetadata } from '../raft/types.js';
import type { PeerTransport } from '../transport/peer-transport.js';
import { createVerifyingPassThrough, decodeSnapshot, encodeSnapshot } from '../snapshot/index.js';
import type { SnapshotHeader } from '../snapshot/header.js';
import type { Durability } from './durability.js';
import type { MemberConfig } from './member-config.js';
import { Membership } from './membership.js';

/** Key and value bytes encoded between turns of the event loop: a millisecond or two of work. */
const ENCODE_SLICE_BYTES = 256 * 1024;
/**
 * After each slice the encoder idles as long as the slice took: it takes half a core at most,
 * so the members' puts keep some CPU while all of them snapshot at once on a small machine.
 * The snapshot takes up to twice as long; nothing waits for it but log compaction.
 */
const ENCODE_IDLE_RATIO = 1;

/** The state a member starts from (or rebuilds from a received snapshot). */
export interface LoadedState {
  readonly kv: MvccStore;
  readonly membership: Membership;
  readonly snapshotMetadata?: SnapshotMetadata;
  readonly snapshotPath?: string;
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
}

/** A snapshot header without the fields the key-value view fills in. */
export type HeaderBase = Omit<SnapshotHeader, 'formatVersion' | 'revision' | 'compactRevision' | 'keyCount'>;

/** Reads a snapshot file into a new key-value store and member table, checking it whole. */
export async function loadSnapshotFile(path: string): Promise<{ header: SnapshotHeader; kv: MvccStore; membership: Membership }> {
  const decoder = decodeSnapshot(createReadStream(path, { highWaterMark: 1024 * 1024 }));
  const header = await decoder.header;
  const kv = await MvccStore.fromRecords(decoder.records(), { revision: header.revision, compactRevision: header.compactRevision });
  await decoder.done;
  const removed = Array.isArray(header.extra.removedMembers) ? (header.extra.removedMembers as string[]) : [];
  const membership = new Membership(
    header.members.map((m) => ({ id: m.id, name: m.name, peerURLs: [...m.peerURLs], clientURLs: [...m.clientURLs], isLearner: m.isLearner })),
    removed,
  );
  return { header, kv, membership };
}

/** Snapshot bookkeeping for one member. */
export class MemberSnapshots {
  private latest: { index: number; path: string } | undefined;
  private received = new Map<number, string>();
  /** Peers a snapshot is being streamed to (one send per peer at a time). */
  private readonly sending = new Set<string>();
  private inProgress = false;
  private requested = false;

  constructor(
    private readonly config: MemberConfig,
    private readonly durability: Durability,
    latestPath: string | undefined,
    latestMeta: SnapshotMetadata | undefined,
  ) {
    if (latestPath && latestMeta) this.latest = { index: latestMeta.index, path: latestPath };
  }

  /** The newest durable snapshot file (what a lagging follower is sent). */
  get latestPath(): string | undefined {
    return this.latest?.path;
  }

  get latestIndex(): number {
    return this.latest?.index ?? -1;
  }

  /** True when a local snapshot should be taken now. */
  due(applied: number): boolean {
    if (this.inProgress || applied === 0) return false;
    if (applied <= this.latestIndex) return false;
    return this.requested || applied - Math.max(0, this.latestIndex) >= this.config.snapshotCount;
  }

  /** Asks for a snapshot at the next applied entry, whatever the count (a member was added). */
  requestSoon(): void {
    this.requested = true;
  }

  /**
   * Takes a local snapshot of `kv` as of now at raft position `metadata`, streaming it into storage.
   * Resolves with the file path once it is durable.
   */
  async take(metadata: SnapshotMetadata, kv: MvccStore, base: HeaderBase): Promise<string | undefined> {
    if (this.inProgress) return undefined;
    this.inProgress = true;
    this.requested = false;
    try {
      const { stream } = this.open(kv, base);
      const path = await this.durability.saveSnapshot(metadata, stream);
      this.latest = { index: metadata.index, path };
      this.config.log(`saved a local snapshot at index ${metadata.index}`);
      return path;
    } finally {
      this.inProgress = false;
    }
  }

  /**
   * Streams the key-value state at its current revision in the snapshot format; the view closes
   * with the stream. `throttle` (local snapshots) also idles between slices so a background
   * rewrite takes at most about half a core; a backup someone waits for only yields.
   */
  open(kv: MvccStore, base: HeaderBase, options: { throttle?: boolean } = {}): { header: SnapshotHeader; stream: Readable } {
    const view = kv.openReadView(0);
    let count: number;
    try {
      count = view.count;
    } catch (err) {
      view.close();
      throw err;
    }
    const header: SnapshotHeader = {
      formatVersion: 1,
      ...base,
      revision: view.revision,
      compactRevision: kv.compactRevision,
      keyCount: count,
    };
    // The synchronous record iterator in slices: no promise per record, and the loop gets a turn
    // after every slice, whoever consumes the stream and however fast.
    const stream = encodeSnapshot(header, view.records(), { yieldEveryBytes: ENCODE_SLICE_BYTES, idleRatio: options.throttle === false ? 0 : ENCODE_IDLE_RATIO });
    stream.once('close', () => view.close());
    return { header, stream };
  }

  /**
   * Stores a snapshot sent by the leader: verified as it is written (chunk CRCs, trailer, counts,
   * hash), and refused unless it belongs to this cluster and to the raft position it claims.
   */
  async receive(metadata: SnapshotMetadata, data: Readable, clusterId: string): Promise<void> {
    // Storage writes one snapshot at a time; the leader retries a refused send later.
    if (this.inProgress) {
      data.destroy();
      throw new Error('a local snapshot is being written; send it again later');
    }
    this.inProgress = true;
    try {
      await this.receiveNow(metadata, data, clusterId);
    } finally {
      this.inProgress = false;
    }
  }

  private async receiveNow(metadata: SnapshotMetadata, data: Readable, clusterId: string): Promise<void> {
    const verifier = createVerifyingPassThrough();
    const piping = pipeline(data, verifier);
    piping.catch(() => undefined);
    async function* checked(): AsyncGenerator<Uint8Array> {
      for await (const chunk of verifier) yield chunk as Uint8Array;
      const summary = await verifier.result;
      if (summary.header.clusterId !== clusterId) {
        throw new IntegrityError(`the snapshot is of cluster ${summary.header.clusterId}, not ${clusterId}`, 'this member refuses it');
      }
      if (summary.header.raftIndex !== metadata.index) {
        throw new IntegrityError(`the snapshot is at raft index ${summary.header.raftIndex}, but was sent as index ${metadata.index}`, 'the sender retries');
      }
    }
    const path = await this.durability.saveSnapshot(metadata, checked());
    await piping;
    this.received.set(metadata.index, path);
    this.latest = { index: metadata.index, path };
    this.config.log(`stored a snapshot at index ${metadata.index} from the leader`);
  }

  /**
   * Streams the newest snapshot file to the Snap message's recipient on its own connection;
   * `report` gets the outcome for raft (at once, false, when raft's snapshot and the file disagree).
   */
  send(m: Message, transport: PeerTransport, report: (ok: boolean) => void): void {
    if (this.sending.has(m.to)) return;
    const path = this.latestPath;
    if (!path || !m.snapshot || m.snapshot.metadata.index !== this.latestIndex) {
      // Raft's snapshot and the newest file disagree (a stale snapshot was stored but not
      // restored): a fresh local snapshot brings them back in line; raft retries the send.
      this.requestSoon();
      report(false);
      return;
    }
    const index = m.snapshot.metadata.index;
    this.sending.add(m.to);
    this.config.log(`sending snapshot at index ${index} to member ${m.to}`);
    transport.sendSnapshot(m, createReadStream(path, { highWaterMark: 1024 * 1024 })).then(
      () => {
        this.sending.delete(m.to);
        this.config.log(`member ${m.to} stored the snapshot at index ${index}`);
        report(true);
      },
      (err: unknown) => {
        this.sending.delete(m.to);
        this.config.log(`sending the snapshot to member ${m.to} failed: ${(err as Error).message}`);
        report(false);
      },
    );
  }

  /** Loads the snapshot received for `index` (raft accepted it) into a fresh store. */
  async loadReceived(index: number): Promise<{ kv: MvccStore; membership: Membership }> {
    const path = this.received.get(index) ?? (this.latest?.index === index ? this.latest.path : undefined);
    if (!path) throw new Error(`raft restored a snapshot at index ${index} that this member never stored`);
    this.received.clear();
    const { kv, membership } = await loadSnapshotFile(path);
    return { kv, membership };
  }
}
