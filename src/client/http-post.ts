// One POST to one endpoint over a keep-alive agent, classified for the retry logic: an answer
// (JSON, or etcd's error shape), or an AttemptFailure saying whether the request could have
// reached the member.
import { request, type Agent, type IncomingMessage } from 'node:http';
import { AttemptFailure, Code, EtcdApiError } from './client-errors.js';

export interface PostOptions {
  agent: Agent;
  timeoutMs: number;
  signal?: AbortSignal;
}

// Errors that mean no connection was made, so no member saw the request.
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** Answers a member may give before doing anything: safe to retry elsewhere, even for writes. */
export function isRetryableBeforeWork(err: EtcdApiError): boolean {
  return (
    err.message === 'etcdserver: no leader' ||
    err.message === 'etcdserver: rpc not supported for learner' ||
    err.message === 'etcdserver: too many requests' ||
    err.message === 'etcdserver: server stopped' ||
    err.message === 'etcdserver: not capable' ||
    err.grpcCode === Code.resourceExhausted
  );
}

/**
 * Sends one request. Resolves with the response (status 200, body not read yet) or rejects with an
 * AttemptFailure (no usable answer) or EtcdApiError (the member said no).
 */
export function postRaw(endpoint: string, path: string, body: string, options: PostOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new AttemptFailure('aborted', endpoint, 'aborted'));
      return;
    }
    let connected = false;
    let settled = false;
    const payload = Buffer.from(body);
    const target = targetOf(endpoint);
    const req = request({
      host: target.host,
      port: target.port,
      path,
      method: 'POST',
      agent: options.agent,
      headers: { 'content-type': 'application/json', 'content-length': payload.length },
    });
    const fail = (failure: AttemptFailure | EtcdApiError) => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(failure);
    };
    const timer = setTimeout(() => {
      fail(connected
        ? new AttemptFailure('timeout', endpoint, `no answer within ${options.timeoutMs} ms`)
        : new AttemptFailure('refused', endpoint, `could not connect within ${options.timeoutMs} ms`));
      req.destroy();
    }, options.timeoutMs);
    const onAbort = () => {
      fail(new AttemptFailure('aborted', endpoint, 'aborted'));
      req.destroy();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    req.on('socket', (socket) => {
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected || NOT_CONNECTED.has(err.code ?? '')) {
        fail(new AttemptFailure('refused', endpoint, err.code === 'ECONNREFUSED' ? 'connection refused' : `cannot connect (${err.code ?? err.message})`));
      } else {
        fail(new AttemptFailure('broken', endpoint, `connection lost (${err.code ?? err.message})`));
      }
    });
    req.on('response', (res) => {
      if (res.statusCode === 200) {
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        cleanup();
        resolve(res);
        return;
      }
      readAll(res).then(
        (text) => fail(errorFromAnswer(endpoint, res.statusCode ?? 0, text)),
        () => fail(new AttemptFailure('broken', endpoint, 'connection lost while reading the answer')),
      );
    });
    req.end(payload);
  });
}

const targets = new Map<string, { host: string; port: number }>();

// Parsing the URL on every request shows up in profiles; endpoints are few, so remember them.
function targetOf(endpoint: string): { host: string; port: number } {
  let target = targets.get(endpoint);
  if (!target) {
    const url = new URL(endpoint);
    target = { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80) };
    if (targets.size < 256) targets.set(endpoint, target);
  }
  return target;
}

/** Sends one request and parses its JSON answer. */
export async function postJson<T>(endpoint: string, path: string, body: unknown, options: PostOptions): Promise<T> {
  const res = await postRaw(endpoint, path, JSON.stringify(body), options);
  // The per-request timeout also covers reading the body.
  let text: string;
  try {
    text = await withTimeout(readAll(res), options.timeoutMs, () => res.destroy());
  } catch {
    throw new AttemptFailure('broken', endpoint, 'connection lost while reading the answer');
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new AttemptFailure('broken', endpoint, 'the answer is not JSON (is this a Lifeboat or etcd endpoint?)');
  }
}

function errorFromAnswer(endpoint: string, status: number, text: string): AttemptFailure | EtcdApiError {
  let parsed: { error?: unknown; message?: unknown; code?: unknown } | undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed && typeof parsed.code === 'number') {
    const message = typeof parsed.message === 'string' ? parsed.message : String(parsed.error);
    const apiError = new EtcdApiError(message, parsed.code, status, endpoint);
    if (parsed.code === Code.unavailable || isRetryableBeforeWork(apiError)) {
      return new AttemptFailure('unavailable', endpoint, message, apiError);
    }
    return apiError;
  }
  // Not etcd's error shape: some other server (or a proxy) answered; the member never saw it.
  return new AttemptFailure('refused', endpoint, `HTTP ${status} ${text.trim().slice(0, 80)} (is this a Lifeboat endpoint?)`);
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('aborted')));
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new Error('timeout'));
    }, ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
