// The simulated network: packets wait in a time-ordered queue and are delivered when the clock
// reaches them. Loss, duplication and delay (hence reordering) are drawn from the seed's PRNG;
// partitions block directed links between members, checked at delivery time so packets already
// in flight are cut too.

import type { Prng } from './prng.js';

/** A packet in flight; `from` and `to` are member IDs or client names. */
export interface Packet<T> {
  readonly from: string;
  readonly to: string;
  readonly payload: T;
  readonly at: number;
  readonly seq: number;
}

export interface LinkFaults {
  loss: number;
  duplicate: number;
  delayMin: number;
  delayMean: number;
}

/** A binary min-heap on (at, seq): the only ordering the delivery loop relies on. */
class PacketHeap<T> {
  private readonly items: Packet<T>[] = [];

  get size(): number {
    return this.items.length;
  }

  push(p: Packet<T>): void {
    const a = this.items;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  peek(): Packet<T> | undefined {
    return this.items[0];
  }

  pop(): Packet<T> | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before<T>(x: Packet<T>, y: Packet<T>): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

/** Delivers packets with per-seed faults; one instance carries both member and client traffic. */
export class SimNetwork<T> {
  private readonly queue = new PacketHeap<T>();
  private seq = 0;
  /** Directed links "from>to" that currently drop everything. */
  private readonly blocked = new Set<string>();
  sent = 0;
  dropped = 0;
  duplicated = 0;

  constructor(
    private readonly rng: Prng,
    public faults: LinkFaults,
  ) {}

  /** Queues a packet at time `now`; `faulty` is false for traffic the seed must not disturb. */
  send(from: string, to: string, payload: T, now: number, faulty = true, allowDuplicate = true): 'queued' | 'lost' {
    this.sent++;
    if (faulty && this.rng.chance(this.faults.loss)) {
      this.dropped++;
      return 'lost';
    }
    this.enqueue(from, to, payload, now, faulty);
    if (faulty && allowDuplicate && this.rng.chance(this.faults.duplicate)) {
      this.duplicated++;
      this.enqueue(from, to, payload, now, faulty);
    }
    return 'queued';
  }

  private enqueue(from: string, to: string, payload: T, now: number, faulty: boolean): void {
    const f = this.faults;
    let delay = 1;
    if (faulty) {
      // Exponential tail: most packets are quick, a few are very late, so order is not kept.
      const u = this.rng.float();
      delay = f.delayMin + Math.floor(-Math.log(1 - u) * f.delayMean);
    }
    this.queue.push({ from, to, payload, at: now + delay, seq: this.seq++ });
  }

  /** Removes and returns the next packet due at or before `now`, or undefined. */
  nextDue(now: number): Packet<T> | undefined {
    const top = this.queue.peek();
    if (!top || top.at > now) return undefined;
    return this.queue.pop();
  }

  /** Whether a packet on this link would be cut by the current partition. */
  isBlocked(from: string, to: string): boolean {
    return this.blocked.size > 0 && this.blocked.has(from + '>' + to);
  }

  /** Cuts the directed link from -> to. */
  block(from: string, to: string): void {
    this.blocked.add(from + '>' + to);
  }

  /** Restores every link. */
  heal(): void {
    this.blocked.clear();
  }

  get partitioned(): boolean {
    return this.blocked.size > 0;
  }

  /** Describes the current cuts, for the readable trace. */
  describeCuts(): string {
    return [...this.blocked].sort().join(' ');
  }

  get inFlight(): number {
    return this.queue.size;
  }
}
