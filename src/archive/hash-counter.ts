// A pass-through that computes the SHA-256 and the byte count of what flows through it:
// the archive's hash on the way into the repository and on the way back out.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** Passes bytes through unchanged; `bytes` and `digest()` describe them. */
export class HashCounter extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;
  private hex: string | undefined;
  private readonly onBytes: ((bytes: number) => void) | undefined;

  constructor(onBytes?: (bytes: number) => void) {
    super();
    this.onBytes = onBytes;
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.count;
  }

  /** Lowercase hex SHA-256 of everything seen; call once the stream has ended. */
  digest(): string {
    this.hex ??= this.hash.digest('hex');
    return this.hex;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.count += chunk.length;
    this.onBytes?.(this.count);
    callback(null, chunk);
  }
}

/** Splits large chunks into pieces of at most `size` bytes, so a decompressor's output per write stays small. */
export class Rechunker extends Transform {
  constructor(private readonly size: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length <= this.size) {
      callback(null, chunk);
      return;
    }
    for (let at = 0; at < chunk.length; at += this.size) this.push(chunk.subarray(at, at + this.size));
    callback();
  }
}
