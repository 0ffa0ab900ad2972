// Small helpers shared by the log and the storage.
import type { Entry } from './types.js';

/** The prefix of `ents` whose data fits in `maxSize` bytes, but never fewer than one entry. */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length <= 1) return ents;
  let size = ents[0]!.data.byteLength;
  let limit = 1;
  for (; limit < ents.length; limit++) {
    size += ents[limit]!.data.byteLength;
    if (size > maxSize) break;
  }
  return limit === ents.length ? ents : ents.slice(0, limit);
}

/** The sum of the entries' data sizes in bytes. */
export function entriesSize(ents: readonly Entry[]): number {
  let size = 0;
  for (let i = 0; i < ents.length; i++) size += ents[i]!.data.byteLength;
  return size;
}
