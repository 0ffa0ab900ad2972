// A growable byte array: the content of one in-memory file (cached or durable) in FaultyFileSystem.

/** A growable byte array whose unused capacity is kept zeroed where it becomes visible. */
export class Bytes {
  buf: Buffer;
  size: number;
  constructor(buf: Buffer = Buffer.alloc(0), size = buf.length) {
    this.buf = buf;
    this.size = size;
  }
  private reserve(n: number): void {
    if (n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(n, this.buf.length * 2, 256));
    this.buf.copy(next, 0, 0, this.size);
    this.buf = next;
  }
  write(pos: number, bytes: Uint8Array): void {
    this.reserve(pos + bytes.length);
    if (pos > this.size) this.buf.fill(0, this.size, pos);
    this.buf.set(bytes, pos);
    this.size = Math.max(this.size, pos + bytes.length);
  }
  setSize(size: number): void {
    if (size > this.size) {
      this.reserve(size);
      this.buf.fill(0, this.size, size);
    }
    this.size = size;
  }
  clone(): Bytes {
    return new Bytes(Buffer.from(this.buf.subarray(0, this.size)));
  }
  view(): Buffer {
    return this.buf.subarray(0, this.size);
  }
}
