// zstd settings shared by the writer and the reader. zstd-napi is native libzstd with real
// streaming (bounded memory); the frame checksum (XXH64) lets `zstd -t` and every reader catch
// damage even without Lifeboat's own SHA-256 (see ARCHITECTURE.md on why not zstd-codec).
import { CompressStream, DecompressStream, compress } from 'zstd-napi';
import { availableParallelism } from 'node:os';
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

/**
 * zstd's own worker threads (at most 2; LIFEBOAT_ZSTD_WORKERS=0 turns them off): compression
 * then runs beside the main thread, which meanwhile receives, checks and hashes the snapshot.
 * On the shared 2-core machine, an alternating A/B of compress + hash over 60 MB (6 runs each)
 * gave a 45% lower median wall time; whole saves under a load average of 15 showed no
 * difference either way. Jobs of 1 MiB keep the extra memory to ~10 MiB (default jobs: ~50).
 */
function zstdWorkers(): number {
  const wanted = Number(process.env.LIFEBOAT_ZSTD_WORKERS ?? Math.min(2, availableParallelism()));
  return Number.isInteger(wanted) && wanted >= 2 ? Math.min(wanted, 4) : wanted === 1 ? 1 : 0;
}

/** A streaming compressor writing one checksummed zstd frame. */
export function createCompressor(level: number): CompressStream {
  const workers = zstdWorkers();
  return new CompressStream({ compressionLevel: level, checksumFlag: true, ...(workers > 0 ? { nbWorkers: workers, jobSize: 1024 * 1024 } : {}) });
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
