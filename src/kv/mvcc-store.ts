// The replicated state machine: an in-memory MVCC key-value store with etcd v3 semantics.
// apply() is deterministic (no clock, no randomness, no I/O): every member applying the same
// entries in the same order reaches the same revision, the same state and the same hashkv.

import { CompactedError, FutureRevisionError, KeyNotFoundError } from './kv-errors.js';
import { KvHasher } from './kv-hash.js';
import { indexKey, resolveRange, type ResolvedRange } from './key-range.js';
import { OrderedIndex } from './ordered-index.js';
import { ReadView, type ReadViewSource } from './read-view.js';
import type { KeyValueRecord } from './record.js';
import { DEFAULT_MAX_TXN_OPS, validateRequest } from './request-validate.js';
import { RecordLoader, type RestoreTarget } from './store-loader.js';
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KvRequest,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  ResponseFor,
  TxnRequest,
  TxnResponse,
} from './requests.js';
import { collectRange, compareMatches } from './range-helpers.js';
import { ValueArena } from './value-arena.js';
import { relocateValues, type RelocationCursor } from './value-relocation.js';
import { compactChain, liveAt, recordOf, Version, versionBytes } from './version-chain.js';

/** Status figures for `endpoint status` and snapshot headers. */
export interface MvccStats {
  readonly revision: number;
  readonly compactRevision: number;
  /** Live keys at the current revision. */
  readonly keyCount: number;
  /** Approximate bytes held by keys, values and history (etcd's dbSize, loosely). */
  readonly dbSize: number;
}

/** The answer to hashkv. */
export interface KvHashResult {
  /** CRC32 of the canonical live records at `revision` (see kv-hash.ts). */
  readonly hash: number;
  /** The revision that was hashed. */
  readonly revision: number;
  /** As etcd reports it: -1 if the store was never compacted. */
  readonly compactRevision: number;
}

export interface MvccStoreOptions {
  /** Most ops per txn branch (etcd's --max-txn-ops); default 128. */
  readonly maxTxnOps?: number;
}

export interface FromRecordsOptions extends MvccStoreOptions {
  /** The store's revision after the restore; at least every record's mod revision (higher when bumping). */
  readonly revision: number;
  /** The replicated compact revision to carry over (snapshot header, or `revision` with --mark-compacted); default 0. */
  readonly compactRevision?: number;
}

/** Keys a compaction visits at once: small stores finish inside the compaction request. */
const FIRST_COMPACT_STEP = 16_384;
/** Keys each later write visits while a compaction is pending. */
const COMPACT_STEP_PER_WRITE = 256;
/** Keys a value relocation visits when it starts, and with each later write, as compaction does. */
const FIRST_RELOCATE_STEP = 16_384;
const RELOCATE_STEP_PER_WRITE = 256;

/** Responses built during a txn get the final revision once it is known. */
type Mutable<T> = { -readonly [P in keyof T]: T[P] };

/** An MVCC store: one revision counter, per-key version chains in an ordered index. */
export class MvccStore implements ReadViewSource, RestoreTarget {
  private readonly index = new OrderedIndex<Version>();
  private rev = 1;
  /**
   * The replicated compact revision: what compactions have been applied (the same on every
   * member). -1 until the first compaction, as in etcd, where compacting to 0 is then allowed once.
   */
  private compactRev = -1;
  /** Reads below this fail as compacted even above compactRev: a store restored from a snapshot has no older history. */
  private historyStart = 0;
  /** History below this has been physically dropped; trails compactRev while read views pin older revisions. */
  private physicalRev = 0;
  /** A physical compaction in progress: its target revision and where it is in withHistory. */
  private job: { readonly target: number; readonly keys: IterableIterator<string> } | null = null;
  private live = 0;
  private bytes = 0;
  /** Keys whose chain holds more than one live version or a tombstone: the only ones compaction visits. */
  private readonly withHistory = new Set<string>();
  /** Open read views per revision. */
  private readonly pins = new Map<number, number>();
  private readonly maxTxnOps: number;
  /** Every value's bytes, in shared slabs. */
  private readonly arena = new ValueArena();
  /** A walk moving values out of mostly-garbage slabs: where it is in the index. */
  private relocation: RelocationCursor | null = null;
  private readonly releaseVersion = (v: Version): void => {
    if (v.slab !== null) this.arena.release(v.slab, v.len);
  };

  constructor(options: MvccStoreOptions = {}) {
    this.maxTxnOps = options.maxTxnOps ?? DEFAULT_MAX_TXN_OPS;
  }

  /** Builds a store from live records in ascending key order (a snapshot), with no history below `revision`. */
  static fromRecordsSync(records: Iterable<KeyValueRecord>, options: FromRecordsOptions): MvccStore {
    const store = new MvccStore(options);
    const loader = new RecordLoader(store, options);
    for (const r of records) loader.add(r);
    loader.finish();
    return store;
  }

  /** Like fromRecordsSync, from a stream of records. */
  static async fromRecords(
    records: AsyncIterable<KeyValueRecord> | Iterable<KeyValueRecord>,
    options: FromRecordsOptions,
  ): Promise<MvccStore> {
    const store = new MvccStore(options);
    const loader = new RecordLoader(store, options);
    for await (const r of records) loader.add(r);
    loader.finish();
    return store;
  }

  /** The current revision. A new store starts at 1, as etcd does. */
  get revision(): number {
    return this.rev;
  }

  /** The replicated compact revision (0 if never compacted; snapshot headers carry this). */
  get compactRevision(): number {
    return Math.max(0, this.compactRev);
  }

  /** The oldest revision this store can still read. */
  get firstReadableRevision(): number {
    return Math.max(this.compactRev, this.historyStart, 1);
  }

  /** Status figures. */
  stats(): MvccStats {
    return { revision: this.rev, compactRevision: this.compactRevision, keyCount: this.live, dbSize: this.bytes };
  }

  /** Applies one request (a committed raft entry, or a local read). Throws a KvError and changes nothing if it fails. */
  apply<R extends KvRequest>(request: R): ResponseFor<R> {
    switch (request.kind) {
      case 'range':
        return this.range(request) as ResponseFor<R>;
      case 'put':
        return this.put(request) as ResponseFor<R>;
      case 'deleteRange':
        return this.deleteRange(request) as ResponseFor<R>;
      case 'txn':
        return this.txn(request) as ResponseFor<R>;
      case 'compaction':
        return this.compact(request) as ResponseFor<R>;
    }
    throw new Error('unknown request kind');
  }

  /** Reads a range (see RangeRequest for the semantics). */
  range(request: RangeRequest): RangeResponse {
    validateRequest(request, this.maxTxnOps);
    const rev = this.readRevision(request.revision ?? 0);
    return this.rangeAt(request, rev);
  }

  /** Puts one key; bumps the revision. */
  put(request: PutRequest): PutResponse {
    validateRequest(request, this.maxTxnOps);
    this.checkPut(request);
    const writeRev = this.rev + 1;
    const prev = this.execPut(request, writeRev);
    this.rev = writeRev;
    this.afterWrite();
    return prev ? { kind: 'put', revision: writeRev, prevKv: prev } : { kind: 'put', revision: writeRev };
  }

  /** Deletes a key or range; bumps the revision only if something was deleted. */
  deleteRange(request: DeleteRangeRequest): DeleteRangeResponse {
    validateRequest(request, this.maxTxnOps);
    const writeRev = this.rev + 1;
    const { deleted, prevKvs } = this.execDelete(request, writeRev);
    if (deleted > 0) this.rev = writeRev;
    this.afterWrite();
    return { kind: 'deleteRange', revision: this.rev, deleted, ...(prevKvs ? { prevKvs } : {}) };
  }

  /** Runs a transaction atomically as one revision (none if it writes nothing). */
  txn(request: TxnRequest): TxnResponse {
    validateRequest(request, this.maxTxnOps);
    // As etcd: every compare, nested ones included, is evaluated against the state before
    // the txn, and every op on the chosen path is checked, before anything is written.
    const path: boolean[] = [];
    this.choosePath(request, path);
    this.checkPath(request, path, { i: 0 });
    const writeRev = this.rev + 1;
    const state = { changed: false };
    const built: Mutable<TxnResponse>[] = [];
    const response = this.execTxn(request, path, { i: 0 }, writeRev, state, built);
    if (state.changed) this.rev = writeRev;
    for (const r of built) r.revision = this.rev;
    this.afterWrite();
    return response;
  }

  /**
   * Compacts to a revision: reads below it fail as compacted at once; the history itself is
   * dropped in steps (all of it inside this call for stores under ~16k keys with history).
   */
  compact(request: CompactionRequest): CompactionResponse {
    if (request.revision <= this.compactRev) throw new CompactedError();
    if (request.revision > this.rev) throw new FutureRevisionError();
    this.compactRev = request.revision;
    this.dropHistory();
    return { kind: 'compaction', revision: this.rev };
  }

  /** Live key count at a revision (0: current). */
  countAt(revision = 0): number {
    const rev = this.readRevision(revision);
    return rev === this.rev ? this.live : this.liveCount('', null, rev);
  }

  /** hashkv: the CRC32 of the canonical live records at a revision (0: current). */
  hashKV(revision = 0): KvHashResult {
    const rev = this.readRevision(revision);
    const hasher = new KvHasher();
    this.index.scan('', null, (k, head) => {
      const v = liveAt(head, rev);
      if (v) hasher.addAt(k, v.slab!.buf, v.off, v.len, v.create, v.mod, v.version);
      return true;
    });
    return { hash: hasher.digest(), revision: rev, compactRevision: this.compactRev };
  }

  /** hashKV in batches, yielding to the event loop between them so a large store does not stall the server. */
  async hashKVAsync(revision = 0, batchSize = 4096): Promise<KvHashResult> {
    const compactRevision = this.compactRev;
    const view = this.openReadView(revision);
    try {
      const hasher = new KvHasher();
      for (;;) {
        const batch = view.next(batchSize);
        for (const r of batch) hasher.add(r);
        if (batch.length < batchSize) break;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      return { hash: hasher.digest(), revision: view.revision, compactRevision };
    } finally {
      view.close();
    }
  }

  /**
   * Opens a consistent view of the live records at a revision (0: current), optionally limited
   * to [key, rangeEnd) with etcd's range rules. Writes and compactions continue meanwhile; close it.
   */
  openReadView(revision = 0, range?: { key: Buffer; rangeEnd?: Buffer }): ReadView {
    const rev = this.readRevision(revision);
    let start = '';
    let end: string | null = null;
    if (range) {
      const resolved = resolveRange(range.key, range.rangeEnd);
      start = resolved.start;
      // A single-key view is the range [key, key + "\0").
      end = resolved.single ? resolved.start + '\u0000' : resolved.end;
    }
    this.pins.set(rev, (this.pins.get(rev) ?? 0) + 1);
    const count = !range && rev === this.rev ? this.live : undefined;
    return new ReadView(this, rev, this.compactRevision, start, end, count);
  }

  /** @internal ReadViewSource: a batch of live records. */
  liveBatch(start: string, exclusiveStart: boolean, end: string | null, rev: number, max: number): KeyValueRecord[] {
    const out: KeyValueRecord[] = [];
    this.index.scan(
      start,
      end,
      (k, head) => {
        const v = liveAt(head, rev);
        if (v) out.push(recordOf(k, v));
        return out.length < max;
      },
      exclusiveStart,
    );
    return out;
  }

  /** @internal ReadViewSource: live keys at rev in [start, end). */
  liveCount(start: string, end: string | null, rev: number): number {
    let n = 0;
    this.index.scan(start, end, (_k, head) => {
      if (liveAt(head, rev)) n++;
      return true;
    });
    return n;
  }

  /** @internal ReadViewSource: releases a view's pin and lets deferred compaction catch up. */
  unpin(rev: number): void {
    const n = this.pins.get(rev) ?? 0;
    if (n <= 1) this.pins.delete(rev);
    else this.pins.set(rev, n - 1);
    if (this.physicalRev < this.compactRev) this.dropHistory();
  }

  // ---- reads ----

  /** Resolves a requested read revision (0 or less: current) or throws compacted / future. */
  private readRevision(revision: number): number {
    if (revision <= 0) return this.rev;
    if (revision > this.rev) throw new FutureRevisionError();
    if (revision < this.compactRev || revision < this.historyStart) throw new CompactedError();
    return revision;
  }

  /** Visits live (key, version) pairs at rev in the range, in key order, until visit returns false. */
  private visitLive(range: ResolvedRange, rev: number, visit: (k: string, v: Version) => boolean): void {
    if (range.single) {
      const head = this.index.get(range.start);
      const v = head ? liveAt(head, rev) : null;
      if (v) visit(range.start, v);
      return;
    }
    if (range.end !== null && range.end <= range.start) return;
    this.index.scan(range.start, range.end, (k, head) => {
      const v = liveAt(head, rev);
      return v ? visit(k, v) : true;
    });
  }

  private rangeAt(r: RangeRequest, rev: number): RangeResponse {
    const range = resolveRange(r.key, r.rangeEnd);
    return collectRange(r, (visit) => this.visitLive(range, rev, visit), this.rev);
  }

  // ---- writes ----

  /** Refuses ignore_value / ignore_lease on a key that does not exist (checked before any write). */
  private checkPut(r: PutRequest): void {
    if (!r.ignoreValue && !r.ignoreLease) return;
    const head = this.index.get(indexKey(r.key));
    if (!head || head.slab === null) throw new KeyNotFoundError();
  }

  /** Writes a put at writeRev; returns the previous live record when prevKv asked for it. */
  private execPut(r: PutRequest, writeRev: number): KeyValueRecord | undefined {
    const k = indexKey(r.key);
    let prevLive: Version | null = null;
    let added = 0;
    this.index.upsert(k, (head) => {
      prevLive = head && head.slab !== null ? head : null;
      // Copied into the arena: the request's buffer may be a slice of a much larger raft entry or
      // WAL read. An ignore_value put copies the old bytes too, so every version owns its bytes.
      const value = r.ignoreValue && prevLive ? prevLive.value! : r.value;
      const at = this.arena.store(value);
      let v: Version;
      if (prevLive) {
        v = new Version(at.slab, at.off, value.length, prevLive.create, writeRev, prevLive.version + 1, prevLive);
        this.withHistory.add(k);
      } else {
        v = new Version(at.slab, at.off, value.length, writeRev, writeRev, 1, head ?? null);
        if (head) this.withHistory.add(k);
        this.live++;
      }
      added = versionBytes(k.length, v);
      return v;
    });
    this.bytes += added;
    const prev = prevLive as Version | null;
    return r.prevKv && prev ? recordOf(k, prev) : undefined;
  }

  private execDelete(r: DeleteRangeRequest, writeRev: number): { deleted: number; prevKvs?: KeyValueRecord[] } {
    const range = resolveRange(r.key, r.rangeEnd);
    const victims: [string, Version][] = [];
    // Collect first: the index must not change under a scan.
    this.visitLive(range, writeRev, (k, v) => {
      victims.push([k, v]);
      return true;
    });
    const prevKvs = r.prevKv ? ([] as KeyValueRecord[]) : undefined;
    for (const [k, v] of victims) {
      const tomb = new Version(null, 0, 0, 0, writeRev, 0, v);
      this.index.set(k, tomb);
      this.withHistory.add(k);
      this.bytes += versionBytes(k.length, tomb);
      this.live--;
      prevKvs?.push(recordOf(k, v));
    }
    return prevKvs ? { deleted: victims.length, prevKvs } : { deleted: victims.length };
  }

  /** Evaluates the compares of a txn and of the nested txns on its chosen path, depth first. */
  private choosePath(t: TxnRequest, path: boolean[]): void {
    const ok = t.compare.every((c) => {
      const range = resolveRange(c.key, c.rangeEnd);
      const found: Version[] = [];
      this.visitLive(range, this.rev, (_k, v) => {
        found.push(v);
        return true;
      });
      return compareMatches(c, found);
    });
    path.push(ok);
    for (const op of ok ? t.success : t.failure) if (op.kind === 'txn') this.choosePath(op, path);
  }

  /** Checks the ops on the chosen path against the state before the txn, so a failing txn writes nothing. */
  private checkPath(t: TxnRequest, path: readonly boolean[], at: { i: number }): void {
    const ok = path[at.i++]!;
    for (const op of ok ? t.success : t.failure) {
      if (op.kind === 'range') this.readRevision(op.revision ?? 0);
      else if (op.kind === 'put') this.checkPut(op);
      else if (op.kind === 'txn') this.checkPath(op, path, at);
    }
  }

  private execTxn(
    t: TxnRequest,
    path: readonly boolean[],
    at: { i: number },
    writeRev: number,
    state: { changed: boolean },
    built: Mutable<TxnResponse>[],
  ): TxnResponse {
    const ok = path[at.i++]!;
    const responses: TxnResponse['responses'] = [];
    for (const op of ok ? t.success : t.failure) {
      switch (op.kind) {
        case 'range': {
          // Reads inside a txn see the txn's own earlier writes, as in etcd.
          const rev = op.revision && op.revision > 0 ? op.revision : writeRev;
          const resp = this.rangeAt(op, rev) as Mutable<RangeResponse>;
          responses.push(resp);
          built.push(resp as unknown as Mutable<TxnResponse>);
          break;
        }
        case 'put': {
          const prev = this.execPut(op, writeRev);
          state.changed = true;
          const resp: Mutable<PutResponse> = { kind: 'put', revision: 0, ...(prev ? { prevKv: prev } : {}) };
          responses.push(resp);
          built.push(resp as unknown as Mutable<TxnResponse>);
          break;
        }
        case 'deleteRange': {
          const { deleted, prevKvs } = this.execDelete(op, writeRev);
          if (deleted > 0) state.changed = true;
          const resp: Mutable<DeleteRangeResponse> = { kind: 'deleteRange', revision: 0, deleted, ...(prevKvs ? { prevKvs } : {}) };
          responses.push(resp);
          built.push(resp as unknown as Mutable<TxnResponse>);
          break;
        }
        case 'txn':
          responses.push(this.execTxn(op, path, at, writeRev, state, built));
          break;
      }
    }
    const resp: Mutable<TxnResponse> = { kind: 'txn', revision: 0, succeeded: ok, responses };
    built.push(resp);
    return resp;
  }

  /**
   * Starts (or restarts, for a newer target) dropping history below the compact revision, but
   * never what an open view still reads, and runs its first step. A large store finishes the
   * rest in small steps after later writes (or through compactStep), so one compaction never
   * stalls the apply loop for long.
   */
  private dropHistory(): void {
    let target = this.compactRev;
    for (const pinned of this.pins.keys()) if (pinned < target) target = pinned;
    if (target <= this.physicalRev || this.job?.target === target) return;
    // The Set iterator is live: keys deleted meanwhile are skipped, keys added are visited too.
    this.job = { target, keys: this.withHistory.values() };
    this.compactStep(FIRST_COMPACT_STEP);
  }

  /** Runs up to maxKeys keys of pending physical compaction; true when none is left. */
  compactStep(maxKeys = FIRST_COMPACT_STEP): boolean {
    const job = this.job;
    if (!job) return true;
    for (let n = 0; n < maxKeys; n++) {
      const next = job.keys.next();
      if (next.done) {
        this.physicalRev = job.target;
        this.job = null;
        // Compaction is what turns values into garbage: the place to see whether slabs need emptying.
        this.maybeRelocate();
        return true;
      }
      const k = next.value;
      const head = this.index.get(k);
      if (!head) {
        this.withHistory.delete(k);
        continue;
      }
      const result = compactChain(head, job.target, k.length, this.releaseVersion);
      this.bytes -= result.freedBytes;
      if (result.head === null) {
        this.index.delete(k);
        this.withHistory.delete(k);
      } else if (result.settled) {
        this.withHistory.delete(k);
      }
    }
    return false;
  }

  /** Whether physical compaction still has keys to visit. */
  get compacting(): boolean {
    return this.job !== null;
  }

  /** Every write carries a little of a pending compaction or value relocation along. */
  private afterWrite(): void {
    if (this.job) this.compactStep(COMPACT_STEP_PER_WRITE);
    if (this.relocation) this.relocateStep(RELOCATE_STEP_PER_WRITE);
    else this.maybeRelocate();
  }

  /** Starts moving values out of mostly-garbage slabs once garbage dominates the arena. */
  private maybeRelocate(): void {
    if (this.relocation !== null || this.arena.planEvacuation() === 0) return;
    this.relocation = { key: '', exclusive: false };
    this.relocateStep(FIRST_RELOCATE_STEP);
  }

  /**
   * Runs up to maxKeys keys of a pending value relocation; true when none is left. Only version
   * fields change (never the index), and the bytes a reader already holds stay where they are.
   */
  relocateStep(maxKeys = FIRST_RELOCATE_STEP): boolean {
    const job = this.relocation;
    if (!job) return true;
    if (!relocateValues(this.index, this.arena, job, maxKeys)) return false;
    this.arena.endEvacuation();
    this.relocation = null;
    return true;
  }

  /** Value memory: bytes in slabs, bytes still used, slabs, and whether a relocation is running. */
  valueMemory(): { allocated: number; live: number; slabs: number; relocating: boolean } {
    return { allocated: this.arena.allocated, live: this.arena.live, slabs: this.arena.slabCount, relocating: this.relocation !== null };
  }

  /** @internal RestoreTarget: installs one restored key (its value is copied into the arena). */
  installRestored(k: string, value: Uint8Array, create: number, mod: number, version: number): void {
    const at = this.arena.store(value);
    const v = new Version(at.slab, at.off, value.length, create, mod, version, null);
    this.index.set(k, v);
    this.live++;
    this.bytes += versionBytes(k.length, v);
  }

  /** @internal RestoreTarget: sets the revisions of a restored store. */
  setRestoredRevisions(revision: number, compactRevision: number): void {
    this.rev = revision;
    // A header's 0 cannot tell "never compacted" from "compacted at 0"; read it as never, like a fresh store.
    this.compactRev = compactRevision > 0 ? compactRevision : -1;
    this.historyStart = revision;
    this.physicalRev = revision;
  }
}
