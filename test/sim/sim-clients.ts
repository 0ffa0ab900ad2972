// The simulated clients: each has at most one operation outstanding, a put of a unique value
// or a read, sent to the member it believes leads; every call and answer goes into the history.

import type { NodeId } from '../../src/raft/types.js';
import type { Prng } from './prng.js';
import type { HistoryRecorder } from './history.js';
import type { ClientReply } from './sim-member.js';

/** A client's request as it travels the network. */
export interface ClientRequest {
  readonly kind: 'req';
  readonly clientNo: number;
  readonly op: number;
  readonly get: boolean;
  readonly key: string;
  readonly value: string;
}

interface Client {
  readonly no: number;
  readonly name: string;
  guess: NodeId;
  pending: { op: number; deadline: number } | null;
}

/** All clients of one run. */
export class ClientFleet {
  private readonly clients: Client[] = [];
  private seq = 0;
  ok = 0;

  constructor(
    private readonly rng: Prng,
    private readonly history: HistoryRecorder,
    count: number,
    private readonly keys: readonly string[],
    private readonly timeoutUnits: number,
    private readonly send: (client: string, member: NodeId, req: ClientRequest) => void,
  ) {
    for (let i = 0; i < count; i++) this.clients.push({ no: i, name: `client-${i}`, guess: '', pending: null });
  }

  /** Times out overdue operations, then lets idle clients start new ones (when `issuing`). */
  drive(now: number, issuing: boolean, rate: number, members: readonly NodeId[]): void {
    for (const c of this.clients) {
      if (c.pending && now >= c.pending.deadline) {
        this.history.timeout(c.pending.op);
        c.pending = null;
        c.guess = '';
      }
      if (c.pending || !issuing || !this.rng.chance(rate)) continue;
      const get = this.rng.chance(0.5);
      const key = this.rng.pick(this.keys);
      const value = get ? '' : `c${c.no}.${this.seq++}`;
      const op = this.history.invoke(c.no, get ? 'get' : 'put', key, get ? null : value);
      const target = c.guess !== '' ? c.guess : this.rng.pick(members);
      c.pending = { op, deadline: now + this.timeoutUnits };
      this.send(c.name, target, { kind: 'req', clientNo: c.no, op, get, key, value });
    }
  }

  /** An answer reached client `name`; stale answers (after a timeout) are ignored. */
  reply(name: string, reply: ClientReply): void {
    const c = this.clients.find((x) => x.name === name);
    if (!c || !c.pending || c.pending.op !== reply.op) return;
    c.pending = null;
    if (reply.kind === 'ok') {
      this.history.ok(reply.op, reply.value);
      this.ok++;
    } else {
      this.history.fail(reply.op);
      c.guess = reply.kind === 'not-leader' ? reply.hint : '';
    }
  }

  /** Ends the run: whatever is still open becomes unknown. */
  settle(): void {
    for (const c of this.clients) {
      if (c.pending) this.history.timeout(c.pending.op);
      c.pending = null;
    }
  }
}
