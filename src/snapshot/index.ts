// The snapshot format: one streaming format for local snapshots, sends to followers and backups.
// See docs/snapshot-format.md for the bytes.
export { FORMAT_VERSION, DEFAULT_CHUNK_BYTES, MAX_CHUNK_PAYLOAD, MAGIC, END_MAGIC, TRAILER_BYTES } from './format.js';
export type { SnapshotHeader, SnapshotHeaderInput, SnapshotMember, SnapshotExtra } from './header.js';
export { decodeTrailer, type SnapshotTrailer } from './trailer.js';
export type { SnapshotSummary } from './parser.js';
export { SnapshotParser, type ParserOptions, type ParseEvent } from './parser.js';
export { SnapshotWriter, type ChunkOptions } from './writer.js';
export { encodeSnapshot, type EncodeOptions } from './encoder.js';
export { SnapshotDecoder, decodeSnapshot, readSnapshotHeader, verifySnapshot, type ByteSource } from './decoder.js';
export { createVerifyingPassThrough, type VerifyingPassThrough } from './verifying-pass-through.js';
