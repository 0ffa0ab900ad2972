// ReadIndex bookkeeping on the leader: each request records the commit index at arrival
// and waits until a quorum answers a heartbeat round carrying its context. An ack for a
// later request also confirms every earlier one (leadership held at a later moment).
import type { Message, NodeId } from './types.js';

interface ReadIndexStatus {
  readonly req: Message;
  readonly index: number;
  readonly acks: Set<NodeId>;
}

/** The queue of ReadIndex requests awaiting a heartbeat quorum. */
export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  /** Queues request `m` (context must be unique among pending ones) at commit index `index`. */
  addRequest(index: number, m: Message): void {
    if (this.pending.has(m.context)) return;
    this.pending.set(m.context, { req: m, index, acks: new Set() });
    this.queue.push(m.context);
  }

  /** Records `id`'s heartbeat ack for `context`; returns who has acked it so far. */
  recvAck(id: NodeId, context: string): ReadonlySet<NodeId> | undefined {
    const rs = this.pending.get(context);
    if (!rs) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Removes and returns every request up to and including the one for `context`. */
  advance(context: string): { req: Message; index: number }[] {
    const at = this.queue.indexOf(context);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const out: { req: Message; index: number }[] = [];
    for (const ctx of done) {
      const rs = this.pending.get(ctx)!;
      this.pending.delete(ctx);
      out.push({ req: rs.req, index: rs.index });
    }
    return out;
  }
}
