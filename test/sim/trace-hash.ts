// A running FNV-1a hash over everything a run does that matters (deliveries, applies),
// so two runs of one seed can be compared with a single number.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Folds strings and byte arrays into one 32-bit FNV-1a value. */
export class TraceHash {
  private h = FNV_OFFSET;

  /** Mixes a string (its UTF-16 code units) into the hash. */
  addString(s: string): void {
    let h = this.h;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, FNV_PRIME);
    }
    // A separator so "ab"+"c" and "a"+"bc" differ.
    h ^= 0xff;
    this.h = Math.imul(h, FNV_PRIME);
  }

  /** Mixes raw bytes into the hash. */
  addBytes(b: Uint8Array): void {
    let h = this.h;
    for (let i = 0; i < b.length; i++) {
      h ^= b[i]!;
      h = Math.imul(h, FNV_PRIME);
    }
    this.h = h;
  }

  /** The current value as 8 hex digits. */
  hex(): string {
    return (this.h >>> 0).toString(16).padStart(8, '0');
  }
}

/** FNV-1a of a byte array as 8 hex digits: a short digest used to compare entries. */
export function bytesDigest(b: Uint8Array): string {
  let h = FNV_OFFSET;
  for (let i = 0; i < b.length; i++) {
    h ^= b[i]!;
    h = Math.imul(h, FNV_PRIME);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
