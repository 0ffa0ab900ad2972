// The first frame on every peer connection: who is talking to whom, about which cluster, and
// what the connection carries. The receiver answers with an accept or a refusal (and a reason)
// so that a member of another cluster, or a removed member, learns why it is refused.

/** "LBPR". */
const HANDSHAKE_MAGIC = 0x4c425052;
const PROTOCOL_VERSION = 1;
/** magic u32, version u8, kind u8, cluster 8, from 8, to 8. */
const HANDSHAKE_BYTES = 4 + 1 + 1 + 24;

export enum ConnectionKind {
  /** A one-way stream of raft message batches. */
  Messages = 1,
  /** One Snap message followed by the raw snapshot file; the receiver answers with an outcome. */
  Snapshot = 2,
  /** A member about to join asks for the cluster ID and the member list. */
  Probe = 3,
}

export interface Handshake {
  readonly kind: ConnectionKind;
  /** 16 hex digits; all zeros for a probe. */
  readonly clusterId: string;
  readonly from: string;
  readonly to: string;
}

const ZERO_ID = '0000000000000000';

/** Encodes the handshake payload (without the frame length). */
export function encodeHandshake(h: Handshake): Buffer {
  const b = Buffer.alloc(HANDSHAKE_BYTES);
  b.writeUInt32BE(HANDSHAKE_MAGIC, 0);
  b[4] = PROTOCOL_VERSION;
  b[5] = h.kind;
  b.write(h.clusterId || ZERO_ID, 6, 8, 'hex');
  b.write(h.from || ZERO_ID, 14, 8, 'hex');
  b.write(h.to || ZERO_ID, 22, 8, 'hex');
  return b;
}

/** Decodes a handshake payload; returns a reason string when it is not one. */
export function decodeHandshake(b: Buffer): Handshake | string {
  if (b.length !== HANDSHAKE_BYTES || b.readUInt32BE(0) !== HANDSHAKE_MAGIC) return 'not a Lifeboat peer connection';
  if (b[4] !== PROTOCOL_VERSION) return `peer protocol version ${b[4]} is not supported (this build speaks ${PROTOCOL_VERSION})`;
  const kind = b[5]!;
  if (kind !== ConnectionKind.Messages && kind !== ConnectionKind.Snapshot && kind !== ConnectionKind.Probe) {
    return `unknown connection kind ${kind}`;
  }
  return { kind, clusterId: b.toString('hex', 6, 14), from: b.toString('hex', 14, 22), to: b.toString('hex', 22, 30) };
}

/** The receiver's answer: status 0 accepts; anything else refuses, with a reason. */
export function encodeAnswer(ok: boolean, text: string): Buffer {
  const t = Buffer.from(text, 'utf8');
  const b = Buffer.allocUnsafe(1 + t.length);
  b[0] = ok ? 0 : 1;
  t.copy(b, 1);
  return b;
}

/** Decodes an answer frame. */
export function decodeAnswer(b: Buffer): { ok: boolean; text: string } {
  return { ok: b.length > 0 && b[0] === 0, text: b.toString('utf8', 1) };
}
