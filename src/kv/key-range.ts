// Key ranges as etcd defines them, translated to the store's index keys.
// The index is keyed by latin1-decoded key bytes: latin1 maps each byte to one UTF-16 code
// unit of the same value, so JavaScript string order is exactly byte order.

/** The index key for key bytes. */
export function indexKey(key: Uint8Array): string {
  const buf = Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return buf.toString('latin1', 0, buf.length);
}

/** The key bytes for an index key (a fresh Buffer). */
export function keyBytes(indexKeyString: string): Buffer {
  return Buffer.from(indexKeyString, 'latin1');
}

/** A range resolved for the index: one key, or [start, end) with end null meaning unbounded. */
export type ResolvedRange =
  | { readonly single: true; readonly start: string }
  | { readonly single: false; readonly start: string; readonly end: string | null };

/**
 * Resolves etcd's (key, range_end): empty or absent range_end is the single key, a single
 * zero byte is every key >= key, anything else an exclusive end (an empty range if end <= key).
 */
export function resolveRange(key: Uint8Array, rangeEnd: Uint8Array | undefined): ResolvedRange {
  const start = indexKey(key);
  if (!rangeEnd || rangeEnd.length === 0) return { single: true, start };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { single: false, start, end: null };
  return { single: false, start, end: indexKey(rangeEnd) };
}

/** Whether index key k lies in the resolved range. */
export function inRange(range: ResolvedRange, k: string): boolean {
  if (range.single) return k === range.start;
  return k >= range.start && (range.end === null || k < range.end);
}

/**
 * The range end that selects every key with this prefix: the prefix with its last byte below
 * 0xff incremented and what follows dropped; a prefix of only 0xff bytes (or empty) gives "\0", all keys.
 */
export function prefixEnd(prefix: Uint8Array): Buffer {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i] = end[i]! + 1;
      return end;
    }
  }
  return Buffer.from([0]);
}
