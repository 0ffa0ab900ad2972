// The walk that empties evacuating slabs (value-arena.ts): it visits every key's chain in key
// order, a bounded number of keys at a time, and moves each value still in an evacuating slab
// into the arena's current slab. Only version fields change, never the index, so it may run
// between any two writes; a key added behind the cursor already has its value in a live slab.

import type { OrderedIndex } from './ordered-index.js';
import type { ValueArena } from './value-arena.js';
import type { Version } from './version-chain.js';

/** Where a relocation walk is: the last key visited (exclusive) or the start. */
export interface RelocationCursor {
  key: string;
  exclusive: boolean;
}

/** Moves values out of evacuating slabs for up to maxKeys keys from the cursor; true when the walk has reached the end. */
export function relocateValues(index: OrderedIndex<Version>, arena: ValueArena, cursor: RelocationCursor, maxKeys: number): boolean {
  let visited = 0;
  let last = cursor.key;
  index.scan(
    cursor.key,
    null,
    (k, head) => {
      for (let v: Version | null = head; v !== null; v = v.prev) {
        const slab = v.slab;
        if (slab !== null && slab.evacuating) {
          const at = arena.relocate(slab, v.off, v.len);
          v.slab = at.slab;
          v.off = at.off;
        }
      }
      last = k;
      return ++visited < maxKeys;
    },
    cursor.exclusive,
  );
  if (visited < maxKeys) return true;
  cursor.key = last;
  cursor.exclusive = true;
  return false;
}
