// The bounded window of App messages a leader has sent to one follower and not yet seen
// acknowledged. Each slot holds the last entry index the message carried. A fixed ring
// buffer: no allocation per message once it has grown to its size.

/** A count-bounded ring of in-flight App messages (their last indexes, ascending). */
export class Inflights {
  private start = 0;
  private count = 0;
  private buffer: Float64Array;
  readonly size: number;

  constructor(size: number) {
    this.size = size;
    this.buffer = new Float64Array(Math.min(size, 16));
  }

  /** Records a message whose last entry is `index`; indexes must be added in ascending order. */
  add(index: number): void {
    if (this.full()) throw new Error('cannot add into a full inflights window');
    if (this.count === this.buffer.length) this.grow();
    let next = this.start + this.count;
    if (next >= this.buffer.length) next -= this.buffer.length;
    this.buffer[next] = index;
    this.count++;
  }

  private grow(): void {
    const bigger = new Float64Array(Math.min(this.size, this.buffer.length * 2));
    for (let i = 0; i < this.count; i++) bigger[i] = this.buffer[(this.start + i) % this.buffer.length]!;
    this.buffer = bigger;
    this.start = 0;
  }

  /** Frees every message whose last index is <= `to` (the follower acknowledged them). */
  freeLE(to: number): void {
    if (this.count === 0) return;
    let idx = this.start;
    let i = 0;
    for (; i < this.count; i++) {
      if (this.buffer[idx]! > to) break;
      idx++;
      if (idx >= this.buffer.length) idx -= this.buffer.length;
    }
    this.count -= i;
    this.start = this.count === 0 ? 0 : idx;
  }

  /** Frees the oldest message: used when a heartbeat shows the follower alive but acks were lost. */
  freeFirstOne(): void {
    if (this.count === 0) return;
    this.freeLE(this.buffer[this.start]!);
  }

  /** True when no more messages may be sent until some are acknowledged. */
  full(): boolean {
    return this.count >= this.size;
  }

  /** The number of messages in flight. */
  get length(): number {
    return this.count;
  }

  /** Forgets everything in flight. */
  reset(): void {
    this.count = 0;
    this.start = 0;
  }
}
