// zstd settings shared by the writer and the reader. zstd-napi is native libzstd with real
// streaming (bounded memory); the frame checksum (XXH64) lets `zstd -t` and every reader catch
// damage even without Lifeboat's own SHA-256 (see ARCHITECTURE.md on why not zstd-codec).
import { CompressStream, DecompressStream, compress } from 'zstd-napi';
import { UsageError } from '../errors.js';

export const DEFAULT_COMPRESSION_LEVEL = 3;
export const MIN_COMPRESSION_LEVEL = 1;
export const MAX_COMPRESSION_LEVEL = 19;

/** Checks a --compression-level value. */
export function checkCompressionLevel(level: number): number {
  if (!Number.isInteger(level) || level < MIN_COMPRESSION_LEVEL || level > MAX_COMPRESSION_LEVEL) {
    throw new UsageError(
      `--compression-level must be an integer from ${MIN_COMPRESSION_LEVEL} to ${MAX_COMPRESSION_LEVEL}, not ${level}`,
      `3 (the default) is fast; higher levels trade CPU for size`,
    );
  }
  return level;
}

/** A streaming compressor writing one checksummed zstd frame. */
export function createCompressor(level: number): CompressStream {
  return new CompressStream({ compressionLevel: level, checksumFlag: true });
}

/** Compresses a small buffer into one checksummed zstd frame. */
export function compressFrame(data: Buffer, level: number): Buffer {
  return compress(data, { compressionLevel: level, checksumFlag: true });
}

/** A streaming decompressor; it reads concatenated frames as one stream, like `zstd -dc`. */
export function createDecompressor(): DecompressStream {
  return new DecompressStream();
}

/** The 4 bytes every zstd frame starts with. */
export const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
