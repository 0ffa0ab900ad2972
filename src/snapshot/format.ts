// The fixed numbers of the snapshot format (docs/snapshot-format.md). Changing any of them,
// or the layout the encoder and parser build from them, is a new format version.

/** The format version this build writes, and the only one it reads. */
export const FORMAT_VERSION = 1;

/** First 8 bytes. The CR LF pair shows up damaged when a file went through a text-mode transfer. */
export const MAGIC = Buffer.from('LBSNAP\r\n', 'latin1');
/** Last 8 bytes: a file that does not end with them was cut short. */
export const END_MAGIC = Buffer.from('LBSNEND\n', 'latin1');

/** magic (8) + format version u32 + header length u32. */
export const PREAMBLE_BYTES = 16;
/** A header is a few members and numbers; a larger length means a corrupt length field. */
export const MAX_HEADER_BYTES = 1024 * 1024;

/** Tag of a record chunk: "LBCK". */
export const CHUNK_TAG = 0x4c42434b;
/** Tag of the trailer: "LBTR". */
export const TRAILER_TAG = 0x4c425452;

/** tag u32, sequence u32, record count u32, payload length u32, CRC32 of those 16 bytes. */
export const CHUNK_HEADER_BYTES = 20;
/** CRC32 of the payload, after it. */
export const CHUNK_CRC_BYTES = 4;
/**
 * Largest chunk payload a reader accepts. A reader holds one chunk in memory to check its CRC
 * before it hands out any record from it, so this bounds a reader's memory. One record must fit.
 */
export const MAX_CHUNK_PAYLOAD = 64 * 1024 * 1024;
/** Default payload size at which the encoder closes a chunk. */
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/** key length u32, value length u32, create revision u64, mod revision u64, version u64. */
export const RECORD_PREFIX_BYTES = 32;

/** tag, chunk count, record count, data bytes, byte count, SHA-256, KV hash, CRC32, end magic. */
export const TRAILER_BYTES = 80;
/** Bytes of the trailer its CRC covers (everything before the CRC). */
export const TRAILER_CRC_SPAN = 68;

const TWO_POW_32 = 0x1_0000_0000;
/** Largest high word of a u64 that still gives a safe JS integer (2^53 - 1). */
const MAX_SAFE_HIGH = 0x1f_ffff;

/** Writes a safe non-negative integer as a big-endian u64 without going through BigInt. */
export function writeU64(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_POW_32), offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}

/** Reads a big-endian u64; undefined when it does not fit a safe JS integer. */
export function readU64(buf: Buffer, offset: number): number | undefined {
  const high = buf.readUInt32BE(offset);
  if (high > MAX_SAFE_HIGH) return undefined;
  return high * TWO_POW_32 + buf.readUInt32BE(offset + 4);
}

/** True for a 64-bit ID written as 16 lowercase hex digits. */
export function isHexId(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{16}$/.test(value);
}

/** True for an integer the format can carry in a u64 field. */
export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** "0x1234abcd", for messages about checksums. */
export function hex32(value: number): string {
  return '0x' + (value >>> 0).toString(16).padStart(8, '0');
}
