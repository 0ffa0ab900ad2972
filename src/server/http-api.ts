// The client API: etcd 3.4's JSON gateway, over node:http with keep-alive. Every request is a
// POST with a JSON body; every answer is either a JSON message with `header` first or etcd's
// error shape. Nothing a client sends may crash the member: bodies are size-capped before they
// are parsed, and every failure becomes {"error","message","code"}.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { UsageError } from '../errors.js';
import type { MemberInfo, MemberService, MemberStatus, ResponseHeaderInfo } from './member-service.js';
import { MemberBadUrlsError, RequestTooLargeError } from './server-errors.js';
import { BadRequestError, MessageSchema, bool, int64, parseBody, strings, type Fields } from './http-json.js';
import {
  decodeCompaction,
  decodeDeleteRange,
  decodePut,
  decodeRange,
  decodeTxn,
  encodeDeleteRangeBody,
  encodePutBody,
  encodeRangeBody,
  encodeTxnBody,
  isReadOnlyTxn,
  isSerializableTxn,
  type DecodeBudget,
} from './http-kv-codec.js';
import { decimalIdToHex, encodeHeader, errorResponse, hexIdToDecimal } from './http-errors.js';
import { streamSnapshot } from './http-snapshot.js';
import type { KvResponse } from '../kv/requests.js';
import { VERSION } from '../version.js';

/** etcd's default --max-request-bytes: 1.5 MiB of request payload. */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

export interface HttpApiOptions {
  /** Largest key+value payload one request may carry (default 1.5 MiB, as etcd). */
  maxRequestBytes?: number;
  /** How long close() lets in-flight requests finish before cutting connections (default 2000 ms). */
  closeGraceMs?: number;
  /** Called with one line when something unexpected fails inside a handler. */
  log?: (line: string) => void;
}

/** A running API server. */
export interface HttpApiServer {
  /** The URL it listens on (with the real port when 0 was asked for). */
  readonly url: string;
  readonly server: Server;
  /** Stops accepting, lets in-flight requests finish for a grace period, then cuts what is left. */
  close(): Promise<void>;
}

type Handler = (body: unknown, member: MemberService, budget: DecodeBudget) => Promise<string>;

const EMPTY = (name: string) => new MessageSchema(name, []);
const MEMBER_LIST = new MessageSchema('etcdserverpb.MemberListRequest', ['linearizable']);
const MEMBER_ADD = new MessageSchema('etcdserverpb.MemberAddRequest', ['peerURLs', 'isLearner']);
const MEMBER_ID = new MessageSchema('etcdserverpb.MemberRemoveRequest', ['ID']);
const STATUS = EMPTY('etcdserverpb.StatusRequest');
const HASH = EMPTY('etcdserverpb.HashRequest');
const HASH_KV = new MessageSchema('etcdserverpb.HashKVRequest', ['revision']);

function withHeader(header: ResponseHeaderInfo, withRevision = true): Record<string, unknown> {
  return { header: encodeHeader(header, withRevision) };
}

async function write(member: MemberService, request: Parameters<MemberService['write']>[0]): Promise<string> {
  const { response, header } = await member.write(request);
  return kvJson(header, response);
}

// The IDs in a response header are the same on every answer of a member: their JSON is kept.
let cachedIds = { clusterId: '', memberId: '', json: '' };

/** The header's JSON, as JSON.stringify(encodeHeader(h)) would write it, for every KV answer. */
function headerJson(h: ResponseHeaderInfo): string {
  if (h.clusterId !== cachedIds.clusterId || h.memberId !== cachedIds.memberId) {
    const ids = JSON.stringify(encodeHeader({ clusterId: h.clusterId, memberId: h.memberId, revision: 0, raftTerm: 0 }));
    cachedIds = { clusterId: h.clusterId, memberId: h.memberId, json: ids.slice(1, -1) };
  }
  let s = cachedIds.json;
  if (h.revision !== 0) s += (s === '' ? '"revision":"' : ',"revision":"') + h.revision + '"';
  if (h.raftTerm !== 0) s += (s === '' ? '"raft_term":"' : ',"raft_term":"') + h.raftTerm + '"';
  return '{' + s + '}';
}

/** A KV answer, header first: the same text as JSON.stringify(encodeKv(withHeader(header), response)). */
function kvJson(header: ResponseHeaderInfo, response: KvResponse): string {
  const body = JSON.stringify(encodeKv({}, response));
  return body === '{}' ? '{"header":' + headerJson(header) + '}' : '{"header":' + headerJson(header) + ',' + body.slice(1);
}

function encodeKv(out: Record<string, unknown>, response: KvResponse): Record<string, unknown> {
  switch (response.kind) {
    case 'range': return encodeRangeBody(out, response);
    case 'put': return encodePutBody(out, response);
    case 'deleteRange': return encodeDeleteRangeBody(out, response);
    case 'txn': return encodeTxnBody(out, response);
    case 'compaction': return out;
  }
}

function encodeMember(m: MemberInfo): Record<string, unknown> {
  const out: Record<string, unknown> = { ID: hexIdToDecimal(m.id) };
  if (m.name) out.name = m.name;
  if (m.peerURLs.length) out.peerURLs = m.peerURLs;
  if (m.clientURLs.length) out.clientURLs = m.clientURLs;
  if (m.isLearner) out.isLearner = true;
  return out;
}

function encodeStatus(out: Record<string, unknown>, s: MemberStatus): Record<string, unknown> {
  if (s.version) out.version = s.version;
  if (s.dbSize) out.dbSize = String(s.dbSize);
  if (s.leader && !/^0+$/.test(s.leader)) out.leader = hexIdToDecimal(s.leader);
  if (s.raftIndex) out.raftIndex = String(s.raftIndex);
  if (s.raftTerm) out.raftTerm = String(s.raftTerm);
  if (s.raftAppliedIndex) out.raftAppliedIndex = String(s.raftAppliedIndex);
  if (s.errors.length) out.errors = s.errors;
  // Lifeboat keeps no free pages, so all of the data size is in use.
  if (s.dbSize) out.dbSizeInUse = String(s.dbSize);
  if (s.isLearner) out.isLearner = true;
  return out;
}

function memberId(f: Fields): string {
  const value = f.ID;
  if (value === undefined) return '0000000000000000';
  if (typeof value !== 'string' && typeof value !== 'number') throw new BadRequestError('json: cannot unmarshal value into Go value of type uint64');
  const hex = decimalIdToHex(value);
  if (hex === undefined) throw new BadRequestError(`invalid character '${String(value)[0] ?? '"'}' looking for beginning of value`);
  return hex;
}

function validPeerUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && url.port !== '';
  } catch {
    return false;
  }
}

const ROUTES: Record<string, Handler> = {
  '/v3/kv/range': async (body, member, budget) => {
    const request = decodeRange(body, budget);
    const { response, header } = await member.read(request, { serializable: request.serializable === true });
    return kvJson(header, response);
  },
  '/v3/kv/put': (body, member, budget) => write(member, decodePut(body, budget)),
  '/v3/kv/deleterange': (body, member, budget) => write(member, decodeDeleteRange(body, budget)),
  '/v3/kv/txn': async (body, member, budget) => {
    const request = decodeTxn(body, budget);
    if (!isReadOnlyTxn(request)) return write(member, request);
    const { response, header } = await member.read(request, { serializable: isSerializableTxn(request) });
    return kvJson(header, response);
  },
  '/v3/kv/compaction': (body, member) => write(member, decodeCompaction(body)),
  '/v3/cluster/member/list': async (body, member) => {
    MEMBER_LIST.read(body);
    const { members, header } = await member.members();
    return JSON.stringify({ ...withHeader(header, false), members: members.map(encodeMember) });
  },
  '/v3/cluster/member/add': async (body, member) => {
    const f = MEMBER_ADD.read(body);
    const peerURLs = strings(f, 'peerURLs');
    if (peerURLs.length === 0 || !peerURLs.every(validPeerUrl)) throw new MemberBadUrlsError();
    const result = await member.addMember(peerURLs, bool(f, 'isLearner'));
    return JSON.stringify({ ...withHeader(result.header, false), member: encodeMember(result.member), members: result.members.map(encodeMember) });
  },
  '/v3/cluster/member/remove': async (body, member) => {
    const { members, header } = await member.removeMember(memberId(MEMBER_ID.read(body)));
    return JSON.stringify({ ...withHeader(header, false), members: members.map(encodeMember) });
  },
  '/v3/cluster/member/promote': async (body, member) => {
    const { members, header } = await member.promoteMember(memberId(MEMBER_ID.read(body)));
    return JSON.stringify({ ...withHeader(header, false), members: members.map(encodeMember) });
  },
  '/v3/maintenance/status': async (body, member) => {
    STATUS.read(body);
    const { status, header } = await member.status();
    return JSON.stringify(encodeStatus(withHeader(header), status));
  },
  // etcd hashes its whole backend file; Lifeboat's closest meaningful answer is the KV hash now.
  '/v3/maintenance/hash': async (body, member) => {
    HASH.read(body);
    const { hash, header } = await member.hashKV(0);
    return JSON.stringify({ ...withHeader(header), hash });
  },
  '/v3/maintenance/hashkv': async (body, member) => {
    const f = HASH_KV.read(body);
    const { hash, compactRevision, header } = await member.hashKV(int64(f, 'revision'));
    const out: Record<string, unknown> = { ...withHeader(header), hash };
    if (compactRevision) out.compact_revision = String(compactRevision);
    return JSON.stringify(out);
  },
};

// etcd's /version: the API level Lifeboat speaks, and what it really is.
const VERSION_BODY = JSON.stringify({ etcdserver: '3.4.0', etcdcluster: '3.4.0', lifeboat: VERSION });

/** etcd's /health: a leader is known and a linearizable read of the key "health" completes (proves a quorum). */
async function health(member: MemberService): Promise<boolean> {
  try {
    const { status } = await member.status();
    if (!status.leader || /^0+$/.test(status.leader) || status.errors.length > 0) return false;
    const signal = AbortSignal.timeout(HEALTH_TIMEOUT_MS);
    // The race keeps /health bounded even if the read ignored its signal.
    await Promise.race([
      member.read({ kind: 'range', key: Buffer.from('health') }, { serializable: false }, signal),
      new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
    ]);
    return true;
  } catch {
    return false;
  }
}

const HEALTH_TIMEOUT_MS = 3000;

/** The snapshot path streams bytes instead of answering JSON. */
const SNAPSHOT_PATH = '/v3/maintenance/snapshot';

// Base64 makes the body 4/3 of the payload; this leaves room for field names and whitespace
// while still refusing a flood before it is buffered.
function bodyCap(maxRequestBytes: number): number {
  return Math.ceil(maxRequestBytes * 1.4) + 64 * 1024;
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendJson(res: ServerResponse, status: number, json: string): void {
  // A flat list skips the per-call header object and its key checks; every answer has these two.
  res.writeHead(status, ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(json))]);
  res.end(json);
}

/** Sends the error shape; safe to call whatever state the response is in. */
export function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy(err instanceof Error ? err : new Error(String(err)));
    return;
  }
  const { status, body } = errorResponse(err);
  sendJson(res, status, body);
}

// After refusing an oversized body the rest is read and thrown away for a while, so the client
// gets to read the 400 (closing at once would reset the connection and lose the answer); past
// this many bytes the connection is cut.
const DRAIN_LIMIT = 16 * 1024 * 1024;

function readBody(req: IncomingMessage, cap: number, onBody: (text: string) => void, onTooLarge: () => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  const refuse = () => {
    refused = true;
    chunks.length = 0;
    onTooLarge();
  };
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (refused) {
      if (size > cap + DRAIN_LIMIT) req.socket.destroy();
      return;
    }
    if (size > cap) {
      refuse();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (!refused) onBody(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
  });
  if (Number(req.headers['content-length']) > cap) refuse();
}

/** Starts the client API for one member on `listenUrl` (http://host:port; port 0 picks a free one). */
export async function startHttpApi(member: MemberService, listenUrl: string, options: HttpApiOptions = {}): Promise<HttpApiServer> {
  let url: URL;
  try {
    url = new URL(listenUrl);
  } catch {
    throw new UsageError(`--listen-client-urls: "${listenUrl}" is not a URL`, 'give a URL like http://127.0.0.1:2379');
  }
  if (url.protocol !== 'http:') {
    throw new UsageError(`--listen-client-urls: ${listenUrl} is not http://`, 'Lifeboat serves clients over plain http; give a URL like http://127.0.0.1:2379');
  }
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const cap = bodyCap(maxRequestBytes);
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));

  const server = createServer({ keepAlive: true }, (req, res) => {
    // Routes ignore a query string, as the gateway does.
    if (req.url && req.url.includes('?')) req.url = req.url.slice(0, req.url.indexOf('?'));
    if (req.url === '/health' || req.url === '/version') {
      req.resume();
      if (req.method !== 'GET') sendText(res, 405, 'Method Not Allowed\n');
      else if (req.url === '/version') sendJson(res, 200, VERSION_BODY);
      else void health(member).then((ok) => sendJson(res, ok ? 200 : 503, ok ? '{"health":"true"}' : '{"health":"false"}'));
      return;
    }
    const handler = ROUTES[req.url ?? ''];
    const isSnapshot = req.url === SNAPSHOT_PATH;
    if (!handler && !isSnapshot) {
      req.resume();
      sendText(res, 404, 'Not Found\n');
      return;
    }
    if (req.method !== 'POST') {
      req.resume();
      sendText(res, 405, 'Method Not Allowed\n');
      return;
    }
    readBody(
      req,
      cap,
      (text) => {
        if (isSnapshot) {
          streamSnapshot(member, text, res, log);
          return;
        }
        let pending: Promise<string>;
        try {
          pending = handler!(parseBody(text), member, { bytes: 0, max: maxRequestBytes });
        } catch (err) {
          sendError(res, err);
          return;
        }
        pending.then(
          (json) => sendJson(res, 200, json),
          (err) => {
            if (!(err instanceof Error) || grpcless(err)) log(`lifeboat: api ${req.url}: unexpected error: ${err instanceof Error ? err.stack : String(err)}`);
            sendError(res, err);
          },
        );
      },
      () => sendError(res, new RequestTooLargeError()),
    );
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.requestTimeout = 0; // snapshots may stream for minutes

  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(new UsageError(`--listen-client-urls: ${listenUrl} is already in use`, 'stop whatever listens on that port, or choose another port', { cause: err }));
      } else if (err.code === 'EADDRNOTAVAIL' || err.code === 'EACCES') {
        reject(new UsageError(`--listen-client-urls: cannot listen on ${listenUrl} (${err.code})`, 'use an address of this host and a port you may bind', { cause: err }));
      } else {
        reject(err);
      }
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(Number(url.port || 80), url.hostname.replace(/^\[|\]$/g, ''));
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const realUrl = `http://${host}:${address.port}`;
  const grace = options.closeGraceMs ?? 2000;

  return {
    url: realUrl,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, grace);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

function grpcless(err: Error): boolean {
  const e = err as { code?: unknown; grpcCode?: unknown };
  return typeof e.grpcCode !== 'number' && typeof e.code !== 'number';
}
