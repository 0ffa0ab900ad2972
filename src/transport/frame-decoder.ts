// Splits a byte stream into length-prefixed frames (u32 BE length, then that many bytes).
// Most frames arrive whole inside one chunk and are handed out as views without copying.

/** Frames larger than this mean a corrupt stream or a foreign protocol, not a real message batch. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** Thrown when the stream cannot be a Lifeboat peer stream. */
export class FrameError extends Error {}

/** Incremental frame parser. */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /**
   * Feeds a chunk; returns up to `maxFrames` complete frames (views into the input where possible).
   * Bytes after them stay pending: push an empty chunk to continue.
   */
  push(chunk: Buffer, maxFrames = Infinity): Buffer[] {
    const frames: Buffer[] = [];
    let buf: Buffer;
    if (this.pendingBytes === 0) {
      buf = chunk;
    } else {
      this.pending.push(chunk);
      buf = Buffer.concat(this.pending, this.pendingBytes + chunk.length);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let pos = 0;
    while (frames.length < maxFrames && buf.length - pos >= 4) {
      const len = buf.readUInt32BE(pos);
      if (len > MAX_FRAME_BYTES) throw new FrameError(`frame of ${len} bytes is larger than ${MAX_FRAME_BYTES}`);
      if (buf.length - pos - 4 < len) break;
      frames.push(buf.subarray(pos + 4, pos + 4 + len));
      pos += 4 + len;
    }
    if (pos < buf.length) {
      const rest = buf.subarray(pos);
      this.pending.push(rest);
      this.pendingBytes = rest.length;
    }
    return frames;
  }

  /** Bytes received after the last complete frame; used when a stream switches from frames to raw bytes. */
  takeRemainder(): Buffer {
    const rest = this.pendingBytes === 0 ? Buffer.alloc(0) : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return rest;
  }
}

/** Prefixes a payload with its length. */
export function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}
