// What the client returns: etcd's JSON decoded into Buffers and numbers (IDs stay decimal strings,
// with their 16-hex-digit form alongside, because a uint64 does not fit a JS number).

/** Every response's header. */
export interface ResponseHeader {
  /** Decimal uint64, as etcd prints it. */
  clusterId: string;
  memberId: string;
  revision: number;
  raftTerm: number;
}

/** One key at a revision. */
export interface KeyValue {
  key: Buffer;
  value: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
}

export interface RangeResult {
  header: ResponseHeader;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface PutResult {
  header: ResponseHeader;
  prevKv?: KeyValue;
}

export interface DeleteResult {
  header: ResponseHeader;
  deleted: number;
  prevKvs: KeyValue[];
}

export interface Member {
  /** Decimal uint64 (etcd's JSON form). */
  id: string;
  /** The same ID as 16 lowercase hex digits (etcdctl's table form). */
  idHex: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface MemberListResult {
  header: ResponseHeader;
  members: Member[];
}

export interface MemberAddResult extends MemberListResult {
  member: Member;
}

export interface StatusResult {
  endpoint: string;
  header: ResponseHeader;
  version: string;
  dbSize: number;
  /** Decimal uint64; '0' when the member knows no leader. */
  leader: string;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  errors: string[];
  isLearner: boolean;
}

export interface HashKVResult {
  header: ResponseHeader;
  hash: number;
  compactRevision: number;
}

type Json = Record<string, any>;

const EMPTY = Buffer.alloc(0);

function num(value: unknown): number {
  if (value === undefined || value === null) return 0;
  return Number(value);
}

function b64(value: unknown): Buffer {
  return typeof value === 'string' && value !== '' ? Buffer.from(value, 'base64') : EMPTY;
}

/** Decimal uint64 -> 16 hex digits. */
export function decimalToHex(id: string): string {
  return BigInt(id).toString(16).padStart(16, '0');
}

/**
 * A member ID as a user types it -> decimal string; undefined if it is none. Like etcdctl, up to 16
 * digits are hex (`member list` prints 16 hex digits); 17 to 20 digits are the decimal form etcd's
 * JSON uses; a 0x prefix is hex.
 */
export function memberIdToDecimal(id: string): string | undefined {
  const text = id.trim().toLowerCase();
  if (/^(0x)?[0-9a-f]{1,16}$/.test(text)) return BigInt(text.startsWith('0x') ? text : '0x' + text).toString(10);
  if (/^\d{17,20}$/.test(text) && BigInt(text) < 1n << 64n) return BigInt(text).toString(10);
  return undefined;
}

export function decodeHeader(h: Json | undefined): ResponseHeader {
  return {
    clusterId: String(h?.cluster_id ?? '0'),
    memberId: String(h?.member_id ?? '0'),
    revision: num(h?.revision),
    raftTerm: num(h?.raft_term),
  };
}

export function decodeKeyValue(kv: Json): KeyValue {
  return {
    key: b64(kv.key),
    value: b64(kv.value),
    createRevision: num(kv.create_revision),
    modRevision: num(kv.mod_revision),
    version: num(kv.version),
  };
}

export function decodeMember(m: Json): Member {
  const id = String(m.ID ?? '0');
  return {
    id,
    idHex: decimalToHex(id),
    name: String(m.name ?? ''),
    peerURLs: (m.peerURLs as string[] | undefined) ?? [],
    clientURLs: (m.clientURLs as string[] | undefined) ?? [],
    isLearner: m.isLearner === true,
  };
}

export function decodeStatus(endpoint: string, s: Json): StatusResult {
  return {
    endpoint,
    header: decodeHeader(s.header),
    version: String(s.version ?? ''),
    dbSize: num(s.dbSize),
    leader: String(s.leader ?? '0'),
    raftIndex: num(s.raftIndex),
    raftTerm: num(s.raftTerm),
    raftAppliedIndex: num(s.raftAppliedIndex),
    errors: (s.errors as string[] | undefined) ?? [],
    isLearner: s.isLearner === true,
  };
}

/** The exclusive end of every key starting with `prefix` (etcd's GetPrefixRangeEnd). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xff (or empty): no upper bound, which etcd spells as a single zero byte.
  return Buffer.from([0]);
}
