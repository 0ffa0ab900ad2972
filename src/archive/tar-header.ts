// POSIX ustar headers, written by hand for one reason: the archive's snapshot entry is
// compressed as it streams in, before its size is known, and its header is compressed last
// into a separate zstd frame that is stored first (see archive-writer.ts). tar-stream's pack
// wants the size before the body, so it cannot write that header after the fact; its extract
// side reads these archives, and so do GNU tar and bsdtar (the tests run both).

export const TAR_BLOCK = 512;
/** Two zero blocks end a tar archive. */
export const TAR_END = Buffer.alloc(2 * TAR_BLOCK);
/** Largest size the 11 octal digits of the ustar size field hold (8 GiB - 1). */
const MAX_OCTAL_SIZE = 0o77777777777;

/** One regular-file header block for `name` (ASCII, at most 100 bytes) of `size` bytes. */
export function tarFileHeader(name: string, size: number, mtime: Date, mode = 0o644): Buffer {
  if (!/^[\x20-\x7e]{1,100}$/.test(name)) throw new RangeError(`tar entry name must be 1-100 printable ASCII characters: ${name}`);
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`tar entry size must be a non-negative integer: ${size}`);
  const block = Buffer.alloc(TAR_BLOCK);
  block.write(name, 0, 'ascii');
  octal(block, 100, 8, mode);
  octal(block, 108, 8, 0); // uid
  octal(block, 116, 8, 0); // gid
  if (size <= MAX_OCTAL_SIZE) {
    octal(block, 124, 12, size);
  } else {
    // GNU base-256: high bit set, big-endian binary in the remaining bytes (GNU tar, bsdtar and tar-stream read it).
    block[124] = 0x80;
    let rest = size;
    for (let i = 135; i > 124; i--) {
      block[i] = rest % 256;
      rest = Math.floor(rest / 256);
    }
  }
  octal(block, 136, 12, Math.floor(mtime.getTime() / 1000));
  block.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  block[156] = 0x30; // '0': regular file
  block.write('ustar\u0000', 257, 'ascii');
  block.write('00', 263, 'ascii');
  block.write('root', 265, 'ascii');
  block.write('root', 297, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0') + '\u0000 ', 148, 'ascii');
  return block;
}

/** Zero bytes that pad an entry of `size` bytes to a whole block. */
export function tarPadding(size: number): Buffer {
  const rest = size % TAR_BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : TAR_BLOCK - rest);
}

function octal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(value.toString(8).padStart(width - 1, '0') + '\u0000', offset, 'ascii');
}
