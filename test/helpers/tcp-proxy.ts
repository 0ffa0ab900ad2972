// A TCP proxy in front of one member's peer port, for partition tests. It reads the sender's
// member ID from the peer handshake (the first frame of every peer connection) so a test can
// cut traffic from chosen members, or all traffic, and heal it again.
import { connect, createServer, type Server, type Socket } from 'node:net';

/** Offset of the sender ID in a peer connection: u32 frame length, magic u32, version u8, kind u8, cluster 8 bytes. */
const FROM_OFFSET = 4 + 4 + 1 + 1 + 8;

/** A proxy listening on `listenPort` that forwards to `targetPort` on 127.0.0.1. */
export class PeerProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket; from: string }>();
  private blockedAll = false;
  private readonly blockedFrom = new Set<string>();

  constructor(
    readonly listenPort: number,
    private readonly targetPort: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.listenPort}`;
  }

  async start(): Promise<void> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.listenPort, '127.0.0.1', () => resolve());
    });
  }

  /** Drops every connection through this proxy (both directions of traffic to this member). */
  blockAll(on: boolean): void {
    this.blockedAll = on;
    if (on) for (const p of this.pairs) this.cut(p);
  }

  /** Drops connections whose sender is `memberId`. */
  blockFrom(memberId: string, on: boolean): void {
    if (on) this.blockedFrom.add(memberId);
    else this.blockedFrom.delete(memberId);
    if (on) for (const p of this.pairs) if (p.from === memberId) this.cut(p);
  }

  private cut(p: { client: Socket; upstream: Socket }): void {
    p.client.destroy();
    p.upstream.destroy();
  }

  private accept(client: Socket): void {
    if (this.blockedAll) {
      client.destroy();
      return;
    }
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < FROM_OFFSET + 8) return;
      client.off('data', onHead);
      client.pause();
      const from = head.toString('hex', FROM_OFFSET, FROM_OFFSET + 8);
      if (this.blockedAll || this.blockedFrom.has(from)) {
        client.destroy();
        return;
      }
      const upstream = connect({ host: '127.0.0.1', port: this.targetPort });
      const pair = { client, upstream, from };
      this.pairs.add(pair);
      const done = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', done);
      upstream.on('error', done);
      client.on('close', done);
      upstream.on('close', done);
      upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    };
    client.on('data', onHead);
    client.on('error', () => client.destroy());
  }

  async close(): Promise<void> {
    for (const p of this.pairs) this.cut(p);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
