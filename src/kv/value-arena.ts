// Values live in large append-only slabs rather than one Buffer each: a version then holds a
// slab pointer, an offset and a length (no Buffer object, no allocator pool slack), which
// roughly halves a member's memory for 1 KiB values. Bytes in a slab are written once and
// never changed, so a Buffer handed to a reader stays valid however the store changes later.
// Space comes back in two ways: a slab whose values are all gone is dropped, and a slab that
// is mostly garbage is evacuated (its live values copied into the current slab by the store's
// relocation walk) once garbage dominates the arena.

/** One slab: a Buffer filled front to back, and how many of its bytes still belong to versions. */
export class Slab {
  /** Bytes of values still referenced by versions. */
  live = 0;
  /** Set while a relocation walk is moving this slab's values out. */
  evacuating = false;

  constructor(readonly buf: Buffer) {}
}

/** The slab of every empty value: never stored into, never released, never dropped. */
export const EMPTY_SLAB = new Slab(Buffer.alloc(0));

/** Default slab size: 1 MiB. */
export const DEFAULT_SLAB_BYTES = 1024 * 1024;

/** Where store() put a value; read the fields at once, the next store() overwrites them. */
export interface StoredAt {
  slab: Slab;
  off: number;
}

/** Append-only value storage in shared slabs, with per-slab live accounting. */
export class ValueArena {
  private current: Slab | null = null;
  private used = 0;
  private readonly slabBytes: number;
  /** Values at least this long get a slab of their own, so a slab never wastes more than this at its end. */
  private readonly ownSlabFrom: number;
  /** Every slab still referenced (current included), for choosing what to evacuate. */
  private readonly slabs = new Set<Slab>();
  private allocatedBytes = 0;
  private liveBytes = 0;
  private readonly at: StoredAt = { slab: EMPTY_SLAB, off: 0 };

  constructor(slabBytes = DEFAULT_SLAB_BYTES) {
    this.slabBytes = slabBytes;
    this.ownSlabFrom = Math.max(1, slabBytes >>> 2);
  }

  /** Copies value into the arena; the returned object is reused by the next call. */
  store(value: Uint8Array): StoredAt {
    const len = value.length;
    const at = this.at;
    if (len === 0) {
      at.slab = EMPTY_SLAB;
      at.off = 0;
      return at;
    }
    let slab: Slab;
    let off: number;
    if (len >= this.ownSlabFrom) {
      slab = this.newSlab(len);
      off = 0;
    } else {
      if (this.current === null || this.used + len > this.current.buf.length) {
        // The old current slab may already be empty (everything in it was overwritten and compacted).
        const old = this.current;
        this.current = this.newSlab(this.slabBytes);
        this.used = 0;
        if (old !== null && old.live === 0) this.drop(old);
      }
      slab = this.current;
      off = this.used;
      this.used += len;
    }
    slab.buf.set(value, off);
    slab.live += len;
    this.liveBytes += len;
    at.slab = slab;
    at.off = off;
    return at;
  }

  /** Gives back len bytes of a slab (a version was dropped or moved); an unused slab is dropped. */
  release(slab: Slab, len: number): void {
    if (slab === EMPTY_SLAB || len === 0) return;
    slab.live -= len;
    this.liveBytes -= len;
    if (slab.live === 0 && slab !== this.current) this.drop(slab);
  }

  /** Bytes in slabs the arena holds. */
  get allocated(): number {
    return this.allocatedBytes;
  }

  /** Bytes of those that versions still use. */
  get live(): number {
    return this.liveBytes;
  }

  /** Slabs held. */
  get slabCount(): number {
    return this.slabs.size;
  }

  /**
   * When garbage dominates (more than half the arena, and more than a few slabs' worth), marks
   * the slabs that are mostly garbage as evacuating and returns how many; else 0. The caller
   * then moves every live value in them (relocate) and they drop out on their own.
   */
  planEvacuation(): number {
    const garbage = this.allocatedBytes - this.liveBytes;
    if (garbage <= this.liveBytes || garbage < 4 * this.slabBytes) return 0;
    let marked = 0;
    for (const slab of this.slabs) {
      if (slab === this.current || slab.evacuating) continue;
      if (slab.live * 2 < slab.buf.length) {
        slab.evacuating = true;
        marked++;
      }
    }
    return marked;
  }

  /** Copies a value out of an evacuating slab into the current one; returns its new place. */
  relocate(slab: Slab, off: number, len: number): StoredAt {
    // Copy before releasing: releasing the last bytes drops the slab (the Buffer lives on until copied).
    const at = this.store(slab.buf.subarray(off, off + len));
    this.release(slab, len);
    return at;
  }

  /** Ends an evacuation: slabs still marked (a walk that missed nothing leaves none) are kept, unmarked. */
  endEvacuation(): number {
    let left = 0;
    for (const slab of this.slabs) {
      if (slab.evacuating) {
        slab.evacuating = false;
        left++;
      }
    }
    return left;
  }

  private newSlab(size: number): Slab {
    // allocUnsafeSlow: a slab of its own, never a slice of Node's shared pool.
    const slab = new Slab(Buffer.allocUnsafeSlow(size));
    this.slabs.add(slab);
    this.allocatedBytes += size;
    return slab;
  }

  private drop(slab: Slab): void {
    if (this.slabs.delete(slab)) this.allocatedBytes -= slab.buf.length;
  }
}
