// The compressing spool: the first half of writing an archive. A snapshot arrives without a
// length, but a tar header needs the size before the body. So the body is compressed as it
// arrives into its own zstd frame in a local spool file (with the tar padding and end blocks
// after it), while its size and SHA-256 are counted; the headers that need that size are
// compressed afterwards into a small frame that is stored first (archive-writer.ts). zstd
// decoders read concatenated frames as one stream, so the stored object is an ordinary
// .tar.zst. Memory stays bounded; the spool holds compressed bytes, a third or less of the
// snapshot, and compression overlaps the download instead of following it.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StorageUnavailableError } from '../errors.js';
import { isFsError } from '../repo/fs-errors.js';
import { createCompressor } from './compression.js';
import { TAR_END, tarPadding } from './tar-header.js';

export interface SpoolOptions {
  readonly compressionLevel: number;
  /** Where the spool file goes (default: os.tmpdir()). */
  readonly spoolDir?: string;
  /** Placed before compression, e.g. the snapshot's verifying pass-through. */
  readonly inspect?: Transform;
  readonly signal?: AbortSignal;
  /** Called with the body bytes received so far. */
  readonly onProgress?: (bodyBytes: number) => void;
}

/** A compressed body waiting in a local file. */
export interface SpooledBody {
  /** The spool file: one zstd frame holding body + tar padding + tar end blocks. */
  readonly path: string;
  readonly bodyBytes: number;
  readonly bodySha256: string;
  readonly spoolBytes: number;
  /** Removes the spool file and its folder. Safe to call more than once. */
  dispose(): Promise<void>;
}

/** Counts and hashes the body, then appends the tar padding and end-of-archive blocks. */
class TarBodyTail extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly onProgress?: (bytes: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onProgress?.(this.bytes);
    callback(null, chunk);
  }
  override _flush(callback: TransformCallback): void {
    this.push(Buffer.concat([tarPadding(this.bytes), TAR_END]));
    callback();
  }
}

/** Spool folders older than this were left by a killed run (no save runs this long) and are removed. */
const STALE_SPOOL_MS = 24 * 3_600_000;

/** Streams `source` through `inspect`, a counter and zstd into a spool file. On failure nothing is left behind. */
export async function spoolCompressed(source: Readable, options: SpoolOptions): Promise<SpooledBody> {
  const base = options.spoolDir ?? tmpdir();
  await removeStaleSpools(base);
  const dir = await mkdtemp(join(base, 'lifeboat-spool-')).catch((err: unknown) => {
    throw spoolError(err, base);
  });
  const dispose = () => rm(dir, { recursive: true, force: true });
  const path = join(dir, 'body.zst');
  const tail = new TarBodyTail(options.onProgress);
  const file = createWriteStream(path, { flags: 'wx' });
  // Every stage re-emits the first failure; only one that started at the file is a spool problem.
  let first: { at: 'file' | 'other'; error: unknown } | undefined;
  file.once('error', (error) => (first ??= { at: 'file', error }));
  source.once('error', (error) => (first ??= { at: 'other', error }));
  options.inspect?.once('error', (error) => (first ??= { at: 'other', error }));
  let spoolBytes = 0;
  const stages: (Readable | Transform)[] = [source];
  if (options.inspect) stages.push(options.inspect);
  stages.push(tail, createCompressor(options.compressionLevel));
  try {
    await pipeline([...stages, file] as unknown as [Readable, ...Transform[], NodeJS.WritableStream], { signal: options.signal });
    spoolBytes = file.bytesWritten;
  } catch (err) {
    source.destroy();
    await dispose().catch(() => undefined);
    if (options.signal?.aborted) throw options.signal.reason;
    if (first?.at === 'file') throw spoolError(first.error, base);
    throw err;
  }
  return { path, bodyBytes: tail.bytes, bodySha256: tail.hash.digest('hex'), spoolBytes, dispose };
}

/** Best effort: a SIGKILLed save cannot clean up after itself, so the next one does. */
async function removeStaleSpools(base: string): Promise<void> {
  const names = await readdir(base).catch(() => [] as string[]);
  const cutoff = Date.now() - STALE_SPOOL_MS;
  for (const name of names) {
    if (!name.startsWith('lifeboat-spool-')) continue;
    const path = join(base, name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory() && info.mtimeMs < cutoff) await rm(path, { recursive: true, force: true }).catch(() => undefined);
  }
}

function spoolError(err: unknown, dir: string): unknown {
  if (!isFsError(err)) return err;
  return new StorageUnavailableError(
    `cannot write the local spool file in ${dir}: ${err.code}`,
    `free space in ${dir}, or point TMPDIR (or --spool-dir) at a disk with room for the compressed snapshot`,
    { cause: err },
  );
}
