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
import { mkdtemp, open as openFile, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StorageUnavailableError } from '../errors.js';
import { isFsError } from '../repo/fs-errors.js';
import { createCompressor } from './compression.js';
import { TAR_END, tarPadding } from './tar-header.js';

/** A file to compress into, in place, instead of a spool folder of our own. */
export interface SpoolTarget {
  /** An existing file; bytes go from `offset` on (what lies before is the caller's). */
  readonly path: string;
  readonly offset: number;
  /** Turns a write failure into the error to report (it names the repository, not a spool). */
  readonly describeFailure: (err: unknown) => unknown;
}

export interface SpoolOptions {
  readonly compressionLevel: number;
  /** Where the spool file goes (default: os.tmpdir()). */
  readonly spoolDir?: string;
  /**
   * Compress straight into this file instead (a repository's staged object). Asked for when the
   * first compressed bytes exist, so the caller can name the file after the snapshot's header.
   */
  readonly target?: () => Promise<SpoolTarget>;
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
  /** Where that frame starts in the file (0 unless it went into a target). */
  readonly offset: number;
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

/** How much the staged archive grows between two early write-backs. */
const EARLY_FLUSH_BYTES = 32 * 1024 * 1024;

/** Spool folders older than this were left by a killed run (no save runs this long) and are removed. */
const STALE_SPOOL_MS = 24 * 3_600_000;

/**
 * Writes into a file opened only once the first bytes arrive, at increasing offsets. Many small
 * compressor outputs go down in one writev.
 */
class TargetFileSink extends Writable {
  private handle: FileHandle | undefined;
  private position = 0;
  bytes = 0;
  target: SpoolTarget | undefined;
  /**
   * Write-back started as the file grows, so that the fsync before it is published waits for
   * the last few MiB, not for the whole archive. Only a head start: publish() still fsyncs.
   */
  private flushing: Promise<void> = Promise.resolve();
  private flushedAt = 0;

  constructor(private readonly open: () => Promise<SpoolTarget>) {
    super({ highWaterMark: 256 * 1024 });
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.writeAll(chunks.map((c) => c.chunk)).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    this.flushing.then(() => handle?.close()).then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    this.flushing
      .catch(() => undefined)
      .then(() => handle?.close().catch(() => undefined))
      .then(() => callback(error));
  }

  private async writeAll(buffers: Buffer[]): Promise<void> {
    if (!this.handle) {
      this.target = await this.open();
      this.position = this.target.offset;
      this.handle = await openFile(this.target.path, 'r+');
    }
    let pending = buffers.filter((b) => b.length > 0);
    while (pending.length > 0) {
      const { bytesWritten } = await this.handle.writev(pending, this.position);
      this.position += bytesWritten;
      this.bytes += bytesWritten;
      // A short write (rare: a signal, a nearly full disk) continues where it stopped.
      let skip = bytesWritten;
      while (pending.length > 0 && skip >= pending[0]!.length) skip -= pending.shift()!.length;
      if (skip > 0) pending[0] = pending[0]!.subarray(skip);
    }
    if (this.bytes - this.flushedAt >= EARLY_FLUSH_BYTES) {
      this.flushedAt = this.bytes;
      const handle = this.handle;
      // One at a time, never awaited here; a failure surfaces at the end of the stream.
      this.flushing = this.flushing.then(() => handle.datasync());
      this.flushing.catch(() => undefined);
    }
  }
}

/** Streams `source` through `inspect`, a counter and zstd into a spool file. On failure nothing is left behind. */
export async function spoolCompressed(source: Readable, options: SpoolOptions): Promise<SpooledBody> {
  if (options.target) return spoolIntoTarget(source, options, options.target);
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
  return { path, offset: 0, bodyBytes: tail.bytes, bodySha256: tail.hash.digest('hex'), spoolBytes, dispose };
}

/** The same pipeline into the caller's file; the caller removes that file on failure. */
async function spoolIntoTarget(source: Readable, options: SpoolOptions, target: () => Promise<SpoolTarget>): Promise<SpooledBody> {
  const tail = new TarBodyTail(options.onProgress);
  const sink = new TargetFileSink(target);
  let first: { at: 'file' | 'other'; error: unknown } | undefined;
  sink.once('error', (error) => (first ??= { at: 'file', error }));
  source.once('error', (error) => (first ??= { at: 'other', error }));
  options.inspect?.once('error', (error) => (first ??= { at: 'other', error }));
  const stages: (Readable | Transform)[] = [source];
  if (options.inspect) stages.push(options.inspect);
  stages.push(tail, createCompressor(options.compressionLevel));
  try {
    await pipeline([...stages, sink] as unknown as [Readable, ...Transform[], NodeJS.WritableStream], { signal: options.signal });
  } catch (err) {
    source.destroy();
    if (options.signal?.aborted) throw options.signal.reason;
    if (first?.at === 'file' && isFsError(first.error) && sink.target) throw sink.target.describeFailure(first.error);
    if (first?.at === 'file') throw first.error;
    throw err;
  }
  const placed = sink.target;
  if (!placed) throw new Error('the compressor produced no bytes');
  return { path: placed.path, offset: placed.offset, bodyBytes: tail.bytes, bodySha256: tail.hash.digest('hex'), spoolBytes: sink.bytes, dispose: async () => undefined };
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
