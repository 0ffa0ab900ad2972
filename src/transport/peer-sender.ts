// The outgoing message stream to one peer: one TCP connection, reconnected with backoff, every
// send() written as one batch of frames. The queue is bounded: when the peer is slow or away,
// messages are dropped and the peer reported unreachable, because raft retries on its own.
import { connect, type Socket } from 'node:net';
import type { Message } from '../raft/types.js';
import { encodeMessageInto, encodedMessageSize } from './message-codec.js';
import { ConnectionKind, decodeAnswer, encodeHandshake } from './handshake.js';
import { FrameDecoder, frame } from './frame-decoder.js';

/** What a sender needs from its transport. */
export interface PeerSenderHooks {
  readonly clusterId: string;
  readonly localId: string;
  onUnreachable(peerId: string): void;
  onRefused(peerId: string, reason: string): void;
  log(line: string): void;
}

const MIN_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 1000;
/** Bytes waiting in the socket before new messages are dropped instead of queued. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
/** Messages kept while the connection is being set up. */
const MAX_QUEUED_MESSAGES = 4096;

/** Host and port of a peer URL (http://host:port). */
export function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { host, port: Number(u.port) };
}

/** One direction of one peer pair. */
export class PeerSender {
  private socket: Socket | undefined;
  private connected = false;
  private queue: Message[] = [];
  private backoffMs = MIN_BACKOFF_MS;
  private nextAttemptAt = 0;
  private urlIndex = 0;
  private closed = false;
  private lastRefusal = '';

  constructor(
    readonly peerId: string,
    private urls: readonly string[],
    private readonly hooks: PeerSenderHooks,
  ) {}

  /** Replaces the peer's URLs (a membership update); the current connection stays. */
  setUrls(urls: readonly string[]): void {
    this.urls = urls;
  }

  /** The URL connections go to first. */
  get address(): string | undefined {
    return this.urls[this.urlIndex % Math.max(1, this.urls.length)];
  }

  /** True when a connection is up. */
  get isConnected(): boolean {
    return this.connected;
  }

  /** Queues and writes a batch of messages to this peer as one write. */
  send(messages: readonly Message[]): void {
    if (this.closed || messages.length === 0) return;
    if (this.connected && this.socket) {
      if (this.socket.writableLength > MAX_BUFFERED_BYTES) {
        this.hooks.onUnreachable(this.peerId);
        return;
      }
      this.write(messages);
      return;
    }
    if (this.queue.length + messages.length > MAX_QUEUED_MESSAGES) {
      this.hooks.onUnreachable(this.peerId);
      return;
    }
    for (const m of messages) this.queue.push(m);
    this.ensureConnecting();
  }

  private write(messages: readonly Message[]): void {
    let size = 0;
    for (const m of messages) size += 4 + encodedMessageSize(m);
    const buf = Buffer.allocUnsafe(size);
    let pos = 0;
    for (const m of messages) {
      const end = encodeMessageInto(m, buf, pos + 4);
      buf.writeUInt32BE(end - pos - 4, pos);
      pos = end;
    }
    this.socket!.write(buf);
  }

  private ensureConnecting(): void {
    if (this.socket || this.closed) return;
    const now = Date.now();
    if (now < this.nextAttemptAt) {
      // Inside the backoff window: drop, and let raft find out the peer is unreachable.
      this.queue = [];
      this.hooks.onUnreachable(this.peerId);
      return;
    }
    const url = this.urls[this.urlIndex % Math.max(1, this.urls.length)];
    if (url === undefined) return;
    const { host, port } = hostPort(url);
    const socket = connect({ host, port, noDelay: true });
    this.socket = socket;
    socket.setNoDelay(true);
    const answers = new FrameDecoder();
    socket.on('connect', () => {
      if (this.socket !== socket) return;
      this.connected = true;
      this.backoffMs = MIN_BACKOFF_MS;
      socket.write(frame(encodeHandshake({ kind: ConnectionKind.Messages, clusterId: this.hooks.clusterId, from: this.hooks.localId, to: this.peerId })));
      const queued = this.queue;
      this.queue = [];
      if (queued.length > 0) this.write(queued);
    });
    socket.on('data', (chunk: Buffer) => {
      // The receiver only ever answers the handshake; a refusal is logged once per distinct reason.
      let frames: Buffer[];
      try {
        frames = answers.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const f of frames) {
        const a = decodeAnswer(f);
        if (a.ok) continue;
        if (a.text !== this.lastRefusal) {
          this.lastRefusal = a.text;
          this.hooks.log(`peer ${this.peerId} refused our connection: ${a.text}`);
        }
        this.hooks.onRefused(this.peerId, a.text);
      }
    });
    socket.on('error', () => {
      /* 'close' follows and handles it */
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      const wasConnected = this.connected;
      this.socket = undefined;
      this.connected = false;
      this.queue = [];
      if (!wasConnected) this.urlIndex++;
      this.nextAttemptAt = Date.now() + this.backoffMs;
      this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
      if (!this.closed) this.hooks.onUnreachable(this.peerId);
    });
  }

  /** Closes the connection; later sends are ignored. */
  close(): void {
    this.closed = true;
    this.queue = [];
    const s = this.socket;
    this.socket = undefined;
    this.connected = false;
    s?.destroy();
  }
}
