// The bytes of a ConfChange entry. Layout (version 1):
//   byte 0: version (1); byte 1: ConfChangeType; bytes 2..3: node ID length (big-endian);
//   then the node ID as UTF-8, then the context bytes (the rest).
// Small and hand-rolled because conf-change entries live in the WAL and in snapshots.
import { ConfChangeType } from './types.js';
import type { ConfChange } from './types.js';

const VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Encodes a ConfChange as the data of a ConfChange entry. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const id = encoder.encode(cc.nodeId);
  if (id.length > 0xffff) throw new RangeError('conf change node ID is too long');
  const ctx = cc.context ?? new Uint8Array(0);
  const out = new Uint8Array(4 + id.length + ctx.length);
  out[0] = VERSION;
  out[1] = cc.type;
  out[2] = id.length >>> 8;
  out[3] = id.length & 0xff;
  out.set(id, 4);
  out.set(ctx, 4 + id.length);
  return out;
}

/** Decodes the data of a ConfChange entry; throws on bytes it does not recognise. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length < 4 || data[0] !== VERSION) throw new Error('not a version 1 conf change');
  const type = data[1]!;
  if (type !== ConfChangeType.AddNode && type !== ConfChangeType.RemoveNode && type !== ConfChangeType.AddLearnerNode) {
    throw new Error(`unknown conf change type ${type}`);
  }
  const idLen = (data[2]! << 8) | data[3]!;
  if (4 + idLen > data.length) throw new Error('truncated conf change');
  const nodeId = decoder.decode(data.subarray(4, 4 + idLen));
  const rest = data.subarray(4 + idLen);
  return rest.length > 0 ? { type, nodeId, context: rest } : { type, nodeId };
}
