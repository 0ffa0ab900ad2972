// WAL segment file names: <seq as 16 hex digits>-<first index as 16 hex digits>.wal, so a
// plain sort is the log's order and a missing sequence number is visible at a glance.

import { join } from 'node:path';
import type { FileSystem } from './file-system.js';

export const SEGMENT_SUFFIX = '.wal';
export const TEMP_SUFFIX = '.tmp';

/** A segment file found in the WAL directory. */
export interface SegmentFile {
  readonly seq: number;
  /** lastIndex + 1 when the segment was created; every live entry in earlier segments is below it. */
  readonly firstIndex: number;
  readonly path: string;
}

/** 16 lowercase hex digits. */
export function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}

/** The file name of segment `seq` created when the next index was `firstIndex`. */
export function segmentName(seq: number, firstIndex: number): string {
  return `${hex16(seq)}-${hex16(firstIndex)}${SEGMENT_SUFFIX}`;
}

/** Parses a segment file name; undefined for anything else. */
export function parseSegmentName(name: string): { seq: number; firstIndex: number } | undefined {
  const m = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/.exec(name);
  if (!m) return undefined;
  const seq = Number.parseInt(m[1]!, 16);
  const firstIndex = Number.parseInt(m[2]!, 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(firstIndex)) return undefined;
  return { seq, firstIndex };
}

/** The segments of a WAL directory in order, and leftover temporary files from an interrupted segment creation. */
export function listSegments(fs: FileSystem, dir: string): { segments: SegmentFile[]; temporaries: string[] } {
  const segments: SegmentFile[] = [];
  const temporaries: string[] = [];
  for (const name of fs.readdir(dir)) {
    if (name.endsWith(TEMP_SUFFIX)) {
      temporaries.push(join(dir, name));
      continue;
    }
    const parsed = parseSegmentName(name);
    if (parsed) segments.push({ ...parsed, path: join(dir, name) });
  }
  segments.sort((a, b) => a.seq - b.seq);
  return { segments, temporaries };
}
