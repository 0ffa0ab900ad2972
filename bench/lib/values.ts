// Keys and values for the workloads. Values are random bytes (not one repeated string), so a
// compressed snapshot's size and speed mean what they would on real, poorly compressible data.
import { randomFillSync } from 'node:crypto';

/** A fixed-width key, so every run's keys sort and size the same: `<prefix>/00001234`. */
export function benchKey(prefix: string, i: number): Buffer {
  return Buffer.from(`${prefix}/${String(i).padStart(8, '0')}`);
}

/**
 * Hands out random values of one size. Refills a 1 MiB slab as it goes, so values differ from
 * each other without a crypto call per value; each value is its own copy (a client may hold it).
 */
export class ValueSource {
  private readonly slab = Buffer.allocUnsafe(1 << 20);
  private offset = this.slab.length;

  constructor(private readonly size: number) {
    if (size <= 0 || size > this.slab.length) throw new RangeError(`value size ${size} out of range`);
  }

  /** The next random value. */
  next(): Buffer {
    if (this.offset + this.size > this.slab.length) {
      randomFillSync(this.slab);
      this.offset = 0;
    }
    const value = Buffer.from(this.slab.subarray(this.offset, this.offset + this.size));
    this.offset += this.size;
    return value;
  }
}
