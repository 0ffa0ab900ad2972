// What the member puts in a normal raft entry: a key-value write request in the kv codec (whose
// first byte is its format number, 1) with the request ID the proposer waits on, or a member's
// published attributes under a tag byte the kv codec never starts with. An empty entry is a new
// leader's no-op.
import { decodeRequest, encodeRequest } from '../kv/request-codec.js';
import type { WriteRequest } from '../kv/requests.js';
import type { MemberAttributes } from './membership.js';

/** The kv codec's format byte. */
const KV_FORMAT = 1;
/** Member attributes: JSON after this tag (rare, so clarity wins). */
const TAG_ATTRIBUTES = 0xa1;

export type EntryPayload =
  | { readonly kind: 'noop' }
  | { readonly kind: 'kv'; readonly requestId: string; readonly request: WriteRequest }
  | { readonly kind: 'attributes'; readonly requestId: string; readonly attributes: MemberAttributes }
  | { readonly kind: 'unknown'; readonly tag: number };

/** Encodes a write request for a raft entry. `requestId` is a decimal u64. */
export function encodeKvEntry(requestId: string, request: WriteRequest): Uint8Array {
  return encodeRequest(BigInt(requestId), request);
}

/** Encodes a member's published attributes for a raft entry. */
export function encodeAttributesEntry(requestId: string, attributes: MemberAttributes): Uint8Array {
  const body = Buffer.from(JSON.stringify({ requestId, attributes }), 'utf8');
  const out = Buffer.allocUnsafe(1 + body.length);
  out[0] = TAG_ATTRIBUTES;
  body.copy(out, 1);
  return out;
}

/** Decodes a normal entry's data. */
export function decodeEntry(data: Uint8Array): EntryPayload {
  if (data.byteLength === 0) return { kind: 'noop' };
  const tag = data[0]!;
  if (tag === KV_FORMAT) {
    const { requestId, request } = decodeRequest(data);
    if (request.kind === 'range') return { kind: 'unknown', tag };
    return { kind: 'kv', requestId: requestId.toString(), request };
  }
  if (tag === TAG_ATTRIBUTES) {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const v = JSON.parse(buf.toString('utf8', 1)) as { requestId: string; attributes: MemberAttributes };
    return { kind: 'attributes', requestId: v.requestId, attributes: v.attributes };
  }
  return { kind: 'unknown', tag };
}
