// The client: etcd's JSON API over keep-alive HTTP, failing over between endpoints and finding
// the leader by itself. What it retries is what is safe to retry: reads always; writes only when
// the request surely never reached a member (connection refused) or the member refused it before
// doing anything (no leader, learner, too many requests). A write that timed out or lost its
// connection has an unknown outcome and is reported as such, never silently repeated.
import { Agent } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { InterruptedError, IntegrityError, LifeboatError, ClusterUnavailableError } from '../errors.js';
import { AttemptFailure, EtcdApiError, unavailable } from './client-errors.js';
import { parseEndpoints } from './endpoints.js';
import { isRetryableBeforeWork, postJson, postRaw } from './http-post.js';
import {
  decodeHeader,
  decodeKeyValue,
  decodeMember,
  decodeStatus,
  memberIdToDecimal,
  prefixEnd,
  type DeleteResult,
  type HashKVResult,
  type MemberAddResult,
  type MemberListResult,
  type PutResult,
  type RangeResult,
  type ResponseHeader,
  type StatusResult,
} from './client-types.js';
import { UsageError } from '../errors.js';

export interface LifeboatClientOptions {
  /** Per attempt at one endpoint (default 5000 ms). */
  timeoutMs?: number;
  /** Overall, across retries and endpoints, per call (default 15000 ms). */
  deadlineMs?: number;
  /** Aborts every call in flight (e.g. Ctrl-C). */
  signal?: AbortSignal;
  /** Most concurrent connections per endpoint (default 128). */
  maxSockets?: number;
}

type Bytes = Buffer | string;
type Json = Record<string, any>;
type Mode = 'read' | 'write';

export interface RangeOptions {
  rangeEnd?: Bytes;
  /** Every key starting with the key (computes range_end). */
  prefix?: boolean;
  limit?: number;
  revision?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  serializable?: boolean;
}

export interface SnapshotOptions {
  /** Take it from a member without a quorum (no ReadIndex barrier). */
  serializable?: boolean;
  /** Only this endpoint (otherwise the first that answers). */
  endpoint?: string;
  /** The stream fails if no byte arrives for this long (default: the per-request timeout x 6). */
  idleTimeoutMs?: number;
}

const b = (v: Bytes): Buffer => (typeof v === 'string' ? Buffer.from(v) : v);
const b64 = (v: Bytes): string => b(v).toString('base64');

/** A client for a Lifeboat (or etcd 3.4) cluster. */
export class LifeboatClient {
  readonly endpoints: readonly string[];
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly deadlineMs: number;
  private readonly signal: AbortSignal | undefined;
  /** Index of the endpoint tried first: the leader when known, else the last one that answered. */
  private preferred = 0;
  private leaderKnown = false;
  private discovering: Promise<void> | undefined;

  constructor(endpoints: string | readonly string[], options: LifeboatClientOptions = {}) {
    this.endpoints = parseEndpoints(endpoints);
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.deadlineMs = options.deadlineMs ?? 15_000;
    this.signal = options.signal;
    // Idle sockets are closed after 30 s, well before the server's 60 s keep-alive timeout, so a
    // write never races the server closing its connection (which would leave its outcome unknown).
    this.agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 128, keepAliveMsecs: 10_000, timeout: 30_000 });
  }

  /** Releases the keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  // ---- KV ----

  /** Puts one key. */
  async put(key: Bytes, value: Bytes, options: { prevKv?: boolean } = {}): Promise<PutResult> {
    const body: Json = { key: b64(key), value: b64(value) };
    if (options.prevKv) body.prev_kv = true;
    const r = await this.call<Json>('put', '/v3/kv/put', body, 'write');
    return { header: decodeHeader(r.header), ...(r.prev_kv ? { prevKv: decodeKeyValue(r.prev_kv) } : {}) };
  }

  /** Reads a key, a range or a prefix; linearizable unless serializable. */
  async range(key: Bytes, options: RangeOptions = {}): Promise<RangeResult> {
    const body: Json = { key: b64(key) };
    const end = options.prefix ? prefixEnd(b(key)) : options.rangeEnd !== undefined ? b(options.rangeEnd) : undefined;
    if (end) body.range_end = end.toString('base64');
    if (options.limit) body.limit = String(options.limit);
    if (options.revision) body.revision = String(options.revision);
    if (options.keysOnly) body.keys_only = true;
    if (options.countOnly) body.count_only = true;
    if (options.serializable) body.serializable = true;
    const r = await this.call<Json>('get', '/v3/kv/range', body, 'read');
    return {
      header: decodeHeader(r.header),
      kvs: ((r.kvs as Json[] | undefined) ?? []).map(decodeKeyValue),
      more: r.more === true,
      count: Number(r.count ?? 0),
    };
  }

  /** Deletes a key, a range or a prefix. */
  async deleteRange(key: Bytes, options: { rangeEnd?: Bytes; prefix?: boolean; prevKv?: boolean } = {}): Promise<DeleteResult> {
    const body: Json = { key: b64(key) };
    const end = options.prefix ? prefixEnd(b(key)) : options.rangeEnd !== undefined ? b(options.rangeEnd) : undefined;
    if (end) body.range_end = end.toString('base64');
    if (options.prevKv) body.prev_kv = true;
    const r = await this.call<Json>('del', '/v3/kv/deleterange', body, 'write');
    return {
      header: decodeHeader(r.header),
      deleted: Number(r.deleted ?? 0),
      prevKvs: ((r.prev_kvs as Json[] | undefined) ?? []).map(decodeKeyValue),
    };
  }

  /**
   * A transaction in etcd's JSON shape (keys and values base64); returns etcd's JSON answer.
   * A txn of ranges only is retried like a read; one with writes like a write.
   */
  async txn(request: { compare?: Json[]; success?: Json[]; failure?: Json[] }): Promise<Json & { header: ResponseHeader; succeeded: boolean }> {
    const ops = [...(request.success ?? []), ...(request.failure ?? [])];
    const readOnly = ops.every((op) => op.request_range !== undefined);
    const r = await this.call<Json>('txn', '/v3/kv/txn', request, readOnly ? 'read' : 'write');
    return { ...r, header: decodeHeader(r.header), succeeded: r.succeeded === true };
  }

  /** Compacts history below `revision`. */
  async compact(revision: number, physical = false): Promise<{ header: ResponseHeader }> {
    const body: Json = { revision: String(revision) };
    if (physical) body.physical = true;
    const r = await this.call<Json>('compact', '/v3/kv/compaction', body, 'write');
    return { header: decodeHeader(r.header) };
  }

  // ---- cluster ----

  /** The members, as the cluster sees them. */
  async memberList(): Promise<MemberListResult> {
    const r = await this.call<Json>('member list', '/v3/cluster/member/list', {}, 'read');
    return { header: decodeHeader(r.header), members: ((r.members as Json[] | undefined) ?? []).map(decodeMember) };
  }

  /** Adds a member (as a learner when asked). */
  async memberAdd(peerURLs: string[], isLearner = false): Promise<MemberAddResult> {
    const body: Json = { peerURLs };
    if (isLearner) body.isLearner = true;
    const r = await this.call<Json>('member add', '/v3/cluster/member/add', body, 'write');
    return {
      header: decodeHeader(r.header),
      member: decodeMember(r.member ?? {}),
      members: ((r.members as Json[] | undefined) ?? []).map(decodeMember),
    };
  }

  /** Removes a member by ID (16 hex digits as printed by `member list`, or decimal). */
  async memberRemove(id: string): Promise<MemberListResult> {
    const r = await this.call<Json>('member remove', '/v3/cluster/member/remove', { ID: toDecimalId(id) }, 'write');
    return { header: decodeHeader(r.header), members: ((r.members as Json[] | undefined) ?? []).map(decodeMember) };
  }

  /** Promotes a learner. */
  async memberPromote(id: string): Promise<MemberListResult> {
    const r = await this.call<Json>('member promote', '/v3/cluster/member/promote', { ID: toDecimalId(id) }, 'write');
    return { header: decodeHeader(r.header), members: ((r.members as Json[] | undefined) ?? []).map(decodeMember) };
  }

  // ---- maintenance ----

  /** One endpoint's status (no failover: the caller asked about that endpoint). */
  async status(endpoint: string): Promise<StatusResult> {
    const [e] = parseEndpoints(endpoint);
    // One attempt: a status is asked to learn about that endpoint now, dead or alive.
    const { value } = await this.attempt(`status of ${e}`, 'read', e, (target, timeoutMs) =>
      postJson<Json>(target, '/v3/maintenance/status', {}, { agent: this.agent, timeoutMs, signal: this.signal }), 1);
    return decodeStatus(e!, value);
  }

  /** etcd's GET /health of one endpoint: healthy when it has a leader and a linearizable read completes. */
  async health(endpoint: string): Promise<{ endpoint: string; healthy: boolean; tookMs: number; error?: string }> {
    const [e] = parseEndpoints(endpoint);
    const started = Date.now();
    try {
      const res = await fetch(`${e}/health`, { signal: this.signal ? AbortSignal.any([this.signal, AbortSignal.timeout(this.timeoutMs)]) : AbortSignal.timeout(this.timeoutMs) });
      const body = (await res.json()) as { health?: string };
      const healthy = res.status === 200 && body.health === 'true';
      return { endpoint: e!, healthy, tookMs: Date.now() - started, ...(healthy ? {} : { error: `unhealthy (HTTP ${res.status})` }) };
    } catch (err) {
      if (this.signal?.aborted) throw this.abortReason();
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      const reason = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : cause === 'ECONNREFUSED' ? 'connection refused' : String(cause ?? (err as Error).message);
      return { endpoint: e!, healthy: false, tookMs: Date.now() - started, error: reason };
    }
  }

  /** The KV hash at a revision (0 = current), from one endpoint or the first that answers. */
  async hashKV(revision = 0, endpoint?: string): Promise<HashKVResult> {
    const only = endpoint === undefined ? undefined : parseEndpoints(endpoint)[0];
    const r = await this.call<Json>('hashkv', '/v3/maintenance/hashkv', { revision: String(revision) }, 'read', only);
    return { header: decodeHeader(r.header), hash: Number(r.hash ?? 0), compactRevision: Number(r.compact_revision ?? 0) };
  }

  /**
   * Finds the leader among the endpoints by asking each for its status. Resolves with the leader's
   * endpoint and status, or undefined when none of the endpoints is (or knows) the leader.
   */
  async findLeader(): Promise<{ endpoint: string; status: StatusResult } | undefined> {
    const timeoutMs = Math.min(this.timeoutMs, 3000);
    const statuses = await Promise.all(
      this.endpoints.map((e) =>
        postJson<Json>(e, '/v3/maintenance/status', {}, { agent: this.agent, timeoutMs, signal: this.signal }).then(
          (r) => decodeStatus(e, r),
          () => undefined,
        ),
      ),
    );
    const leader = statuses.find((s) => s && s.leader !== '0' && s.leader === s.header.memberId);
    return leader ? { endpoint: leader.endpoint, status: leader } : undefined;
  }

  /**
   * Opens a snapshot stream (the snapshot format) from one member. Fails over between endpoints until
   * the first byte; after that, a cut-off stream errors with an IntegrityError, never ends cleanly.
   */
  async snapshot(options: SnapshotOptions = {}): Promise<{ stream: Readable; endpoint: string; revision?: number }> {
    const only = options.endpoint === undefined ? undefined : parseEndpoints(options.endpoint)[0];
    const body = JSON.stringify(options.serializable ? { serializable: true } : {});
    const { value: res, endpoint } = await this.attempt('snapshot', 'read', only, (e, timeoutMs) =>
      postRaw(e, '/v3/maintenance/snapshot', body, { agent: this.agent, timeoutMs, signal: this.signal }),
    );
    const revisionHeader = res.headers['x-lifeboat-revision'];
    const out = new PassThrough({ highWaterMark: 1024 * 1024 });
    const idleMs = options.idleTimeoutMs ?? this.timeoutMs * 6;
    let bytes = 0;
    let idle = setTimeout(onIdle, idleMs);
    function onIdle(): void {
      fail(new ClusterUnavailableError(`snapshot stream from ${endpoint} stalled: no data for ${idleMs} ms after ${bytes} bytes`, `check the member at ${endpoint} and retry`));
    }
    let done = false;
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      res.destroy();
      out.destroy(err);
    };
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      clearTimeout(idle);
      // While the consumer is slow (paused), silence is ours, not the member's: no idle clock then.
      if (!out.write(chunk)) res.pause();
      else idle = setTimeout(onIdle, idleMs);
    });
    out.on('drain', () => {
      if (done) return;
      clearTimeout(idle);
      idle = setTimeout(onIdle, idleMs);
      res.resume();
    });
    res.on('end', () => {
      if (done) return;
      // 'end' after a truncated chunked body does not happen; res.complete guards it anyway.
      if (!res.complete) {
        fail(truncated(endpoint, bytes));
        return;
      }
      done = true;
      clearTimeout(idle);
      out.end();
    });
    res.on('aborted', () => fail(truncated(endpoint, bytes)));
    res.on('error', () => fail(truncated(endpoint, bytes)));
    res.on('close', () => {
      if (!done && !res.complete) fail(truncated(endpoint, bytes));
    });
    out.on('close', () => {
      if (!done) {
        // The consumer destroyed the stream: stop the download.
        done = true;
        clearTimeout(idle);
        res.destroy();
      }
    });
    const abort = () => fail(this.signal?.reason instanceof Error ? this.signal.reason : new InterruptedError('snapshot interrupted'));
    this.signal?.addEventListener('abort', abort, { once: true });
    out.on('close', () => this.signal?.removeEventListener('abort', abort));
    return { stream: out, endpoint, ...(revisionHeader ? { revision: Number(revisionHeader) } : {}) };
  }

  // ---- the retry engine ----

  private async call<T>(what: string, path: string, body: unknown, mode: Mode, only?: string): Promise<T> {
    if (mode === 'write' && !only && !this.leaderKnown && this.endpoints.length > 1) await this.discoverLeader();
    const { value } = await this.attempt(what, mode, only, (e, timeoutMs) =>
      postJson<T>(e, path, body, { agent: this.agent, timeoutMs, signal: this.signal }),
    );
    return value;
  }

  private discoverLeader(): Promise<void> {
    this.discovering ??= this.findLeader()
      .then((found) => {
        if (found) {
          this.preferred = this.endpoints.indexOf(found.endpoint);
          this.leaderKnown = true;
        }
      })
      .finally(() => (this.discovering = undefined));
    return this.discovering;
  }

  /** Tries endpoints in turn (preferred first) with backoff between rounds, until the deadline. */
  private async attempt<T>(
    what: string,
    mode: Mode,
    only: string | undefined,
    send: (endpoint: string, timeoutMs: number) => Promise<T>,
    maxRounds = Infinity,
  ): Promise<{ value: T; endpoint: string }> {
    const deadline = Date.now() + this.deadlineMs;
    const targets = only ? [only] : this.endpoints;
    const failures: AttemptFailure[] = [];
    for (let round = 0; ; round++) {
      const start = only ? 0 : this.preferred;
      for (let i = 0; i < targets.length; i++) {
        const endpoint = targets[(start + i) % targets.length]!;
        const left = deadline - Date.now();
        if (left <= 0) break;
        try {
          const value = await send(endpoint, Math.min(this.timeoutMs, left));
          if (!only && endpoint !== this.endpoints[this.preferred]) {
            this.preferred = this.endpoints.indexOf(endpoint);
            this.leaderKnown = false;
          }
          return { value, endpoint };
        } catch (err) {
          if (err instanceof EtcdApiError) throw err;
          if (!(err instanceof AttemptFailure)) throw err;
          if (err.kind === 'aborted') throw this.abortReason();
          failures.push(err);
          if (!only && endpoint === this.endpoints[this.preferred]) this.leaderKnown = false;
          const safe = err.kind === 'refused' || (err.kind === 'unavailable' && err.apiError !== undefined && isRetryableBeforeWork(err.apiError));
          if (mode === 'write' && !safe) {
            if (err.apiError && err.kind === 'unavailable') {
              // The member answered (e.g. "request timed out"): keep its words, with the unknown outcome.
              throw new ClusterUnavailableError(
                `${what} via ${endpoint}: ${err.apiError.message} (it may or may not have been applied)`,
                'check whether it was applied (e.g. with `lifeboat get`) before repeating it; check that a quorum of members is up',
              );
            }
            throw unavailable(what, targets, failures, true);
          }
        }
      }
      const left = deadline - Date.now();
      if (left <= 0 || round + 1 >= maxRounds) throw unavailable(what, targets, failures, false);
      await this.sleep(Math.min(100 * 2 ** round, 1000, left));
    }
  }

  private abortReason(): LifeboatError {
    const reason = this.signal?.reason;
    return reason instanceof LifeboatError ? reason : new InterruptedError('interrupted');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(this.abortReason());
      };
      this.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function truncated(endpoint: string, bytes: number): IntegrityError {
  return new IntegrityError(
    `snapshot stream from ${endpoint} was cut off after ${bytes} bytes`,
    'the member failed or the connection broke mid-stream; nothing was saved, run the backup again',
  );
}

function toDecimalId(id: string): string {
  const decimal = memberIdToDecimal(id);
  if (decimal === undefined) throw new UsageError(`member ID "${id}" is neither hex nor decimal`, 'use an ID as `lifeboat member list` prints it');
  return decimal;
}
