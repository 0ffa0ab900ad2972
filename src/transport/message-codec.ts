// A hand-written binary encoding of raft messages for the peer wire. No JSON on the hot path:
// a batch of App messages is encoded into one Buffer, and decoded entries' data are views into
// the received frame (never copied).
import { EntryType, MessageType, NO_NODE, type Entry, type Message, type NodeId, type Snapshot } from '../raft/types.js';

const TYPE_CODES: readonly MessageType[] = [
  MessageType.Hup,
  MessageType.Beat,
  MessageType.Prop,
  MessageType.App,
  MessageType.AppResp,
  MessageType.Vote,
  MessageType.VoteResp,
  MessageType.PreVote,
  MessageType.PreVoteResp,
  MessageType.Snap,
  MessageType.Heartbeat,
  MessageType.HeartbeatResp,
  MessageType.ReadIndex,
  MessageType.ReadIndexResp,
  MessageType.TransferLeader,
  MessageType.TimeoutNow,
  MessageType.SnapStatus,
  MessageType.Unreachable,
  MessageType.Commit,
];
const CODE_OF = new Map<MessageType, number>(TYPE_CODES.map((t, i) => [t, i]));

const TWO_POW_32 = 0x1_0000_0000;
const FLAG_REJECT = 1;
const FLAG_SNAPSHOT = 2;
/** type u8, flags u8, from 8, to 8, term/logTerm/index/commit/rejectHint u64 each, context len u16, entry count u32. */
const FIXED_BYTES = 1 + 1 + 8 + 8 + 5 * 8 + 2 + 4;
/** term u64, index u64, type u8, data length u32. */
const ENTRY_PREFIX = 8 + 8 + 1 + 4;

/** A member ID that is not 16 hex digits cannot cross the wire. */
export class BadNodeIdError extends Error {}

function writeId(buf: Buffer, id: NodeId, pos: number): void {
  if (id === NO_NODE) {
    buf.fill(0, pos, pos + 8);
    return;
  }
  if (id.length !== 16) throw new BadNodeIdError(`member ID "${id}" is not 16 hex digits`);
  buf.write(id, pos, 8, 'hex');
}

function readId(buf: Buffer, pos: number): NodeId {
  // An all-zero ID is "none"; checking two words is cheaper than building the string first.
  if (buf.readUInt32BE(pos) === 0 && buf.readUInt32BE(pos + 4) === 0) return NO_NODE;
  return buf.toString('hex', pos, pos + 8);
}

function writeU64(buf: Buffer, value: number, pos: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_POW_32), pos);
  buf.writeUInt32BE(value >>> 0, pos + 4);
}

function readU64(buf: Buffer, pos: number): number {
  return buf.readUInt32BE(pos) * TWO_POW_32 + buf.readUInt32BE(pos + 4);
}

function snapshotSize(s: Snapshot): number {
  const c = s.metadata.confState;
  return 16 + 2 + 2 + 8 * (c.voters.length + c.learners.length);
}

/** Bytes encodeMessage will write for `m`. */
export function encodedMessageSize(m: Message): number {
  let size = FIXED_BYTES + Buffer.byteLength(m.context, 'utf8');
  for (const e of m.entries) size += ENTRY_PREFIX + e.data.byteLength;
  if (m.snapshot) size += snapshotSize(m.snapshot);
  return size;
}

/** Writes `m` at `pos` in `buf` (which must have encodedMessageSize(m) bytes free); returns the end. */
export function encodeMessageInto(m: Message, buf: Buffer, pos: number): number {
  const code = CODE_OF.get(m.type);
  if (code === undefined) throw new Error(`unknown message type ${String(m.type)}`);
  buf[pos] = code;
  buf[pos + 1] = (m.reject ? FLAG_REJECT : 0) | (m.snapshot ? FLAG_SNAPSHOT : 0);
  writeId(buf, m.from, pos + 2);
  writeId(buf, m.to, pos + 10);
  writeU64(buf, m.term, pos + 18);
  writeU64(buf, m.logTerm, pos + 26);
  writeU64(buf, m.index, pos + 34);
  writeU64(buf, m.commit, pos + 42);
  writeU64(buf, m.rejectHint, pos + 50);
  const ctxLen = m.context === '' ? 0 : buf.write(m.context, pos + 60, 'utf8');
  buf.writeUInt16BE(ctxLen, pos + 58);
  pos += 60 + ctxLen;
  buf.writeUInt32BE(m.entries.length, pos);
  pos += 4;
  for (const e of m.entries) {
    writeU64(buf, e.term, pos);
    writeU64(buf, e.index, pos + 8);
    buf[pos + 16] = e.type;
    buf.writeUInt32BE(e.data.byteLength, pos + 17);
    pos += ENTRY_PREFIX;
    buf.set(e.data, pos);
    pos += e.data.byteLength;
  }
  if (m.snapshot) {
    const md = m.snapshot.metadata;
    writeU64(buf, md.index, pos);
    writeU64(buf, md.term, pos + 8);
    buf.writeUInt16BE(md.confState.voters.length, pos + 16);
    buf.writeUInt16BE(md.confState.learners.length, pos + 18);
    pos += 20;
    for (const id of md.confState.voters) {
      writeId(buf, id, pos);
      pos += 8;
    }
    for (const id of md.confState.learners) {
      writeId(buf, id, pos);
      pos += 8;
    }
  }
  return pos;
}

/** Encodes one message into a fresh Buffer. */
export function encodeMessage(m: Message): Buffer {
  const buf = Buffer.allocUnsafe(encodedMessageSize(m));
  encodeMessageInto(m, buf, 0);
  return buf;
}

/** Thrown for bytes that are not a well-formed message. */
export class MalformedMessageError extends Error {}

/** Decodes a message that fills `buf` exactly. Entry data are views into `buf`. */
export function decodeMessage(buf: Buffer): Message {
  if (buf.length < FIXED_BYTES) throw new MalformedMessageError(`message of ${buf.length} bytes is too short`);
  const type = TYPE_CODES[buf[0]!];
  if (type === undefined) throw new MalformedMessageError(`unknown message type code ${buf[0]}`);
  const flags = buf[1]!;
  const ctxLen = buf.readUInt16BE(58);
  let pos = 60;
  if (pos + ctxLen + 4 > buf.length) throw new MalformedMessageError('message context runs past its end');
  const context = ctxLen === 0 ? '' : buf.toString('utf8', pos, pos + ctxLen);
  pos += ctxLen;
  const count = buf.readUInt32BE(pos);
  pos += 4;
  const entries: Entry[] = new Array(count);
  for (let i = 0; i < count; i++) {
    if (pos + ENTRY_PREFIX > buf.length) throw new MalformedMessageError('entry runs past the message end');
    const len = buf.readUInt32BE(pos + 17);
    const start = pos + ENTRY_PREFIX;
    if (start + len > buf.length) throw new MalformedMessageError('entry data runs past the message end');
    const et = buf[pos + 16]!;
    if (et !== EntryType.Normal && et !== EntryType.ConfChange) throw new MalformedMessageError(`unknown entry type ${et}`);
    entries[i] = { term: readU64(buf, pos), index: readU64(buf, pos + 8), type: et, data: buf.subarray(start, start + len) };
    pos = start + len;
  }
  let snapshot: Snapshot | undefined;
  if (flags & FLAG_SNAPSHOT) {
    if (pos + 20 > buf.length) throw new MalformedMessageError('snapshot metadata runs past the message end');
    const index = readU64(buf, pos);
    const term = readU64(buf, pos + 8);
    const nv = buf.readUInt16BE(pos + 16);
    const nl = buf.readUInt16BE(pos + 18);
    pos += 20;
    if (pos + 8 * (nv + nl) > buf.length) throw new MalformedMessageError('snapshot members run past the message end');
    const voters: NodeId[] = [];
    const learners: NodeId[] = [];
    for (let i = 0; i < nv; i++, pos += 8) voters.push(readId(buf, pos));
    for (let i = 0; i < nl; i++, pos += 8) learners.push(readId(buf, pos));
    snapshot = { metadata: { index, term, confState: { voters, learners } } };
  }
  if (pos !== buf.length) throw new MalformedMessageError(`message has ${buf.length - pos} trailing bytes`);
  const m: Message = {
    type,
    from: readId(buf, 2),
    to: readId(buf, 10),
    term: readU64(buf, 18),
    logTerm: readU64(buf, 26),
    index: readU64(buf, 34),
    entries,
    commit: readU64(buf, 42),
    reject: (flags & FLAG_REJECT) !== 0,
    rejectHint: readU64(buf, 50),
    context,
    ...(snapshot ? { snapshot } : {}),
  };
  return m;
}
