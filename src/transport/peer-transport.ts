// Peer messaging for one member: a TCP listener for incoming streams, one PeerSender per peer,
// snapshot streams on their own connections, and the membership probe a joining member uses.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Message } from '../raft/types.js';
import { decodeMessage, encodeMessage } from './message-codec.js';
import { ConnectionKind, decodeAnswer, decodeHandshake, encodeAnswer, encodeHandshake, type Handshake } from './handshake.js';
import { FrameDecoder, frame } from './frame-decoder.js';
import { PeerSender, hostPort } from './peer-sender.js';

/** What the member answers to a joining member's probe. */
export interface ProbeAnswer {
  clusterId: string;
  members: { id: string; name: string; peerURLs: string[]; clientURLs: string[]; isLearner: boolean }[];
}

/** What the transport calls back into the member with. */
export interface PeerTransportHandlers {
  /** Messages received from peers (one batch per network read). */
  onMessages(messages: Message[]): void;
  /**
   * A snapshot arrived: `msg` is the Snap message, `data` the snapshot bytes. Resolve once it is stored
   * durably and stepped into raft; reject to refuse it (the sender reports the failure to its raft).
   */
  onSnapshot(msg: Message, data: Readable): Promise<void>;
  /** The peer could not be reached or its queue overflowed. */
  onUnreachable(peerId: string): void;
  /** `peerId` refused our connection, saying why (for example: this member was removed). */
  onRefused?(peerId: string, reason: string): void;
  /** A reason to refuse a connection from `peerId` (a removed member), or undefined to accept. */
  refusalFor(peerId: string): string | undefined;
  /** The membership, for a joining member's probe. */
  probe(): ProbeAnswer;
  log(line: string): void;
}

export interface PeerTransportOptions {
  readonly clusterId: string;
  readonly memberId: string;
  /** Listen address from --listen-peer-urls. */
  readonly listenUrls: readonly string[];
  readonly handlers: PeerTransportHandlers;
}

/** Thrown by start() when a listen address is taken. */
export class AddressInUseError extends Error {
  constructor(readonly url: string) {
    super(`${url} is already in use`);
  }
}

const SNAPSHOT_IDLE_TIMEOUT_MS = 120_000;
const EMPTY = Buffer.alloc(0);

/** One member's peer network. */
export class PeerTransport {
  private readonly servers: Server[] = [];
  private readonly senders = new Map<string, PeerSender>();
  private readonly sockets = new Set<Socket>();
  private readonly refusalsLogged = new Set<string>();
  private closed = false;

  constructor(private readonly options: PeerTransportOptions) {}

  /** Starts listening on every --listen-peer-urls address. */
  async start(): Promise<void> {
    for (const url of this.options.listenUrls) {
      const { host, port } = hostPort(url);
      const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new AddressInUseError(url) : err));
        server.listen(port, host, () => resolve());
      });
      this.servers.push(server);
    }
  }

  /** Adds or updates a peer's URLs. */
  setPeer(id: string, urls: readonly string[]): void {
    if (id === this.options.memberId) return;
    const s = this.senders.get(id);
    if (s) s.setUrls(urls);
    else this.senders.set(id, new PeerSender(id, urls, { clusterId: this.options.clusterId, localId: this.options.memberId, onUnreachable: (p) => this.options.handlers.onUnreachable(p), onRefused: (p, r) => this.options.handlers.onRefused?.(p, r), log: (l) => this.options.handlers.log(l) }));
  }

  /** Forgets a peer (it was removed) and closes its connection. */
  removePeer(id: string): void {
    this.senders.get(id)?.close();
    this.senders.delete(id);
  }

  /** True when a message connection to the peer is up (for status and promote checks). */
  isConnected(id: string): boolean {
    return this.senders.get(id)?.isConnected ?? false;
  }

  /** Sends messages, grouped per recipient so each peer gets one write. */
  send(messages: readonly Message[]): void {
    if (messages.length === 0) return;
    if (messages.length === 1) {
      const m = messages[0]!;
      this.sendTo(m.to, messages);
      return;
    }
    const byPeer = new Map<string, Message[]>();
    for (const m of messages) {
      const list = byPeer.get(m.to);
      if (list) list.push(m);
      else byPeer.set(m.to, [m]);
    }
    for (const [to, list] of byPeer) this.sendTo(to, list);
  }

  private sendTo(to: string, messages: readonly Message[]): void {
    const sender = this.senders.get(to);
    if (sender) sender.send(messages);
    else this.options.handlers.onUnreachable(to);
  }

  /**
   * Streams a snapshot to the Snap message's recipient on its own connection, with backpressure.
   * Resolves when the recipient stored it; rejects on any failure.
   */
  async sendSnapshot(msg: Message, data: Readable): Promise<void> {
    const sender = this.senders.get(msg.to);
    const url = sender?.address;
    if (url === undefined) {
      data.destroy();
      throw new Error(`no address known for member ${msg.to}`);
    }
    const { host, port } = hostPort(url);
    const socket = connect({ host, port, noDelay: true, allowHalfOpen: true });
    this.sockets.add(socket);
    socket.setTimeout(SNAPSHOT_IDLE_TIMEOUT_MS, () => socket.destroy(new Error('snapshot send timed out')));
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      const answer = new Promise<{ ok: boolean; text: string }>((resolve, reject) => {
        const decoder = new FrameDecoder();
        socket.on('data', (chunk: Buffer) => {
          const frames = decoder.push(chunk);
          if (frames.length > 0) resolve(decodeAnswer(frames[0]!));
        });
        socket.once('close', () => reject(new Error(`member ${msg.to} closed the snapshot connection without an answer`)));
        socket.once('error', reject);
      });
      // An unobserved rejection would crash the process if the send fails first.
      answer.catch(() => undefined);
      socket.write(frame(encodeHandshake({ kind: ConnectionKind.Snapshot, clusterId: this.options.clusterId, from: this.options.memberId, to: msg.to })));
      socket.write(frame(encodeMessage(msg)));
      await pipeline(data, socket, { end: true });
      const a = await answer;
      if (!a.ok) throw new Error(`member ${msg.to} refused the snapshot: ${a.text}`);
    } finally {
      data.destroy();
      socket.destroy();
      this.sockets.delete(socket);
    }
  }

  private refuse(socket: Socket, h: Handshake | undefined, reason: string): void {
    const key = `${h?.from ?? socket.remoteAddress}: ${reason}`;
    if (!this.refusalsLogged.has(key)) {
      this.refusalsLogged.add(key);
      this.options.handlers.log(`refused a peer connection from ${h ? `member ${h.from}` : socket.remoteAddress}: ${reason}`);
    }
    socket.end(frame(encodeAnswer(false, reason)));
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const decoder = new FrameDecoder();
    let handshake: Handshake | undefined;
    const onData = (chunk: Buffer) => {
      let batch: Message[] | undefined;
      let input = chunk;
      for (;;) {
        // Until the handshake is read, and on a snapshot connection, frames are taken one at a
        // time: what follows the Snap message is raw snapshot bytes, not frames.
        const limit = !handshake || handshake.kind === ConnectionKind.Snapshot ? 1 : Infinity;
        let frames: Buffer[];
        try {
          frames = decoder.push(input, limit);
        } catch (err) {
          socket.off('data', onData);
          this.refuse(socket, handshake, (err as Error).message);
          return;
        }
        input = EMPTY;
        if (frames.length === 0) break;
        for (const f of frames) {
          if (!handshake) {
            const h = decodeHandshake(f);
            if (typeof h === 'string') {
              socket.off('data', onData);
              this.refuse(socket, undefined, h);
              return;
            }
            const reason = this.check(h);
            if (reason !== undefined) {
              socket.off('data', onData);
              this.refuse(socket, h, reason);
              return;
            }
            handshake = h;
            if (h.kind === ConnectionKind.Probe) {
              socket.off('data', onData);
              socket.end(frame(Buffer.from(JSON.stringify(this.options.handlers.probe()), 'utf8')));
              return;
            }
            if (h.kind === ConnectionKind.Messages) socket.write(frame(encodeAnswer(true, 'ok')));
            continue;
          }
          let msg: Message;
          try {
            msg = decodeMessage(f);
          } catch (err) {
            socket.off('data', onData);
            this.refuse(socket, handshake, `malformed message: ${(err as Error).message}`);
            return;
          }
          if (handshake.kind === ConnectionKind.Snapshot) {
            // Everything after the Snap message is raw snapshot bytes, streamed with backpressure.
            socket.off('data', onData);
            this.receiveSnapshot(socket, msg, decoder.takeRemainder());
            return;
          }
          (batch ??= []).push(msg);
        }
      }
      if (batch) this.options.handlers.onMessages(batch);
    };
    socket.on('data', onData);
  }

  private check(h: Handshake): string | undefined {
    if (h.kind === ConnectionKind.Probe) return undefined;
    if (h.clusterId !== this.options.clusterId) {
      return `cluster ID mismatch: sender is in cluster ${h.clusterId}, this member is in cluster ${this.options.clusterId}`;
    }
    if (h.to !== this.options.memberId) return `sent to member ${h.to}, but this is member ${this.options.memberId}`;
    return this.options.handlers.refusalFor(h.from);
  }

  private receiveSnapshot(socket: Socket, msg: Message, head: Buffer): void {
    const data = new PassThrough({ highWaterMark: 1024 * 1024 });
    if (head.length > 0) data.write(head);
    socket.pipe(data);
    socket.setTimeout(SNAPSHOT_IDLE_TIMEOUT_MS, () => socket.destroy(new Error('snapshot receive timed out')));
    socket.once('close', () => {
      if (!data.writableEnded) data.destroy(new Error('the snapshot connection closed before the end of the snapshot'));
    });
    this.options.handlers.onSnapshot(msg, data).then(
      () => {
        if (!socket.destroyed) socket.end(frame(encodeAnswer(true, 'stored')));
      },
      (err: unknown) => {
        this.options.handlers.log(`refused a snapshot from member ${msg.from} at index ${msg.snapshot?.metadata.index}: ${(err as Error).message}`);
        if (!socket.destroyed) socket.end(frame(encodeAnswer(false, (err as Error).message)));
      },
    );
  }

  /** Stops listening, closes every connection and sender. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.senders.values()) s.close();
    this.senders.clear();
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
  }
}

/**
 * Asks a member at `peerUrl` for the cluster ID and member list (used by a member started with
 * --initial-cluster-state existing, which cannot derive the cluster ID from its flags).
 */
export async function probeCluster(peerUrl: string, timeoutMs: number): Promise<ProbeAnswer> {
  const { host, port } = hostPort(peerUrl);
  const socket = connect({ host, port });
  try {
    return await new Promise<ProbeAnswer>((resolve, reject) => {
      socket.setTimeout(timeoutMs, () => reject(new Error(`no answer from ${peerUrl} within ${timeoutMs} ms`)));
      socket.once('error', reject);
      const decoder = new FrameDecoder();
      socket.on('data', (chunk: Buffer) => {
        try {
          const frames = decoder.push(chunk);
          if (frames.length > 0) resolve(JSON.parse(frames[0]!.toString('utf8')) as ProbeAnswer);
        } catch (err) {
          reject(err as Error);
        }
      });
      socket.once('close', () => reject(new Error(`${peerUrl} closed the connection without an answer`)));
      socket.once('connect', () => socket.write(frame(encodeHandshake({ kind: ConnectionKind.Probe, clusterId: '', from: '', to: '' }))));
    });
  } finally {
    socket.destroy();
  }
}
