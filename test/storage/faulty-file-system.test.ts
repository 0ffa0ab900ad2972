import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultyFileSystem } from '../../src/storage/faulty-file-system.js';
import { errorCode } from '../../src/storage/file-system.js';
import { prng } from './helpers.js';

function setup(): FaultyFileSystem {
  const fs = new FaultyFileSystem({ random: prng(7) });
  fs.mkdir('/d');
  fs.fsyncDir('/');
  return fs;
}

function writeFile(fs: FaultyFileSystem, path: string, data: Uint8Array, sync: boolean): number {
  const fd = fs.open(path, 'replace');
  fs.write(fd, data, 0);
  if (sync) fs.fsync(fd);
  return fd;
}

test('a crash drops bytes that were written but never fsynced', () => {
  const fs = setup();
  const fd = writeFile(fs, '/d/f', Buffer.from('durable'), true);
  fs.fsyncDir('/d');
  fs.write(fd, Buffer.from('-lost'), 7);
  assert.equal(fs.readRaw('/d/f').toString(), 'durable-lost');
  fs.crash();
  assert.equal(fs.readRaw('/d/f').toString(), 'durable');
});

test('a crash drops a new file whose directory was never fsynced, even if its data was', () => {
  const fs = setup();
  writeFile(fs, '/d/f', Buffer.from('x'), true);
  fs.crash();
  assert.equal(fs.stat('/d/f'), undefined);
});

test('a crash undoes a rename and an unlink that were not followed by a directory fsync', () => {
  const fs = setup();
  fs.close(writeFile(fs, '/d/a', Buffer.from('A'), true));
  fs.close(writeFile(fs, '/d/b', Buffer.from('B'), true));
  fs.fsyncDir('/d');
  fs.rename('/d/a', '/d/c');
  fs.unlink('/d/b');
  assert.deepEqual(fs.readdir('/d'), ['c']);
  fs.crash();
  assert.deepEqual(fs.readdir('/d'), ['a', 'b']);
  assert.equal(fs.readRaw('/d/a').toString(), 'A');
});

test('a crash invalidates every open handle', () => {
  const fs = setup();
  const fd = writeFile(fs, '/d/f', Buffer.from('x'), true);
  fs.crash();
  assert.throws(() => fs.write(fd, Buffer.from('y'), 0), (e) => errorCode(e) === 'EBADF');
});

test('tearing the last write keeps only a prefix of it that ends on a 512-byte boundary', () => {
  const fs = setup();
  const fd = writeFile(fs, '/d/f', Buffer.alloc(100, 1), true);
  fs.fsyncDir('/d');
  fs.write(fd, Buffer.alloc(2000, 2), 100);
  fs.crash('tear-last', 1000);
  const after = fs.readRaw('/d/f');
  // 100 + 1000 = 1100 rounds down to the boundary at 1024.
  assert.equal(after.length, 1024);
  assert.ok(after.subarray(0, 100).every((b) => b === 1), 'the synced bytes stay');
  assert.ok(after.subarray(100).every((b) => b === 2), 'the kept prefix is the new data');
});

test('a random tear of the last write cuts it at some sector boundary and never keeps all of it', () => {
  const seen = new Set<number>();
  for (let round = 0; round < 40; round++) {
    const fs = new FaultyFileSystem({ random: prng(round) });
    fs.mkdir('/d');
    fs.fsyncDir('/');
    const fd = writeFile(fs, '/d/f', Buffer.alloc(0), true);
    fs.fsyncDir('/d');
    fs.write(fd, Buffer.alloc(3000, 9), 0);
    fs.crash('tear-last');
    const n = fs.readRaw('/d/f').length;
    assert.equal(n % 512, 0);
    assert.ok(n < 3000, `kept ${n} bytes`);
    seen.add(n);
  }
  assert.ok(seen.size > 2, 'the cut point varies with the seed');
});

test('sector-wise crashes keep some unsynced sectors and lose others, deterministically per seed', () => {
  const run = (seed: number): string => {
    const fs = new FaultyFileSystem({ random: prng(seed) });
    fs.mkdir('/d');
    fs.fsyncDir('/');
    const fd = writeFile(fs, '/d/f', Buffer.alloc(8192), true);
    fs.fsyncDir('/d');
    fs.write(fd, Buffer.alloc(8192, 0xff), 0);
    fs.crash('sectors');
    const after = fs.readRaw('/d/f');
    let pattern = '';
    for (let s = 0; s < 16; s++) pattern += after[s * 512] === 0xff ? '1' : '0';
    return pattern;
  };
  const a = run(11);
  assert.equal(a, run(11));
  assert.match(a, /1/);
  assert.match(a, /0/);
});

test('a flipped bit changes what is read and what survives a crash', () => {
  const fs = setup();
  fs.close(writeFile(fs, '/d/f', Buffer.from([0, 0, 0]), true));
  fs.fsyncDir('/d');
  fs.flipBit('/d/f', 1, 3);
  assert.deepEqual([...fs.readRaw('/d/f')], [0, 8, 0]);
  fs.crash();
  assert.deepEqual([...fs.readRaw('/d/f')], [0, 8, 0]);
});

test('ENOSPC and EIO are returned on demand, once, for the matching operation', () => {
  const fs = setup();
  const fd = writeFile(fs, '/d/f', Buffer.from('a'), true);
  fs.failNext('write', 'ENOSPC');
  assert.throws(() => fs.write(fd, Buffer.from('b'), 1), (e) => errorCode(e) === 'ENOSPC');
  fs.write(fd, Buffer.from('b'), 1);
  fs.failNext('fsync', 'EIO', '/d/f');
  assert.throws(() => fs.fdatasync(fd), (e) => errorCode(e) === 'EIO');
  fs.fsync(fd);
  fs.fsyncDir('/d');
  fs.crash();
  // The failed fsync dropped the dirty byte for good, as Linux does; the later fsync had nothing to write.
  assert.equal(fs.readRaw('/d/f').toString(), 'a');
});

test('a full disk fails a write that would grow past the capacity', () => {
  const fs = new FaultyFileSystem({ capacity: 1000 });
  const fd = fs.open('/f', 'create');
  fs.write(fd, Buffer.alloc(900), 0);
  assert.throws(() => fs.write(fd, Buffer.alloc(200), 900), (e) => errorCode(e) === 'ENOSPC');
  assert.throws(() => fs.preallocate(fd, 2000), (e) => errorCode(e) === 'ENOSPC');
  fs.write(fd, Buffer.alloc(100, 1), 800);
});

test('a sector-wise crash keeps or loses each unsynced directory change on its own', () => {
  const outcomes = new Set<string>();
  for (let seed = 1; seed <= 30; seed++) {
    const fs = new FaultyFileSystem({ random: prng(seed) });
    fs.mkdir('/d');
    fs.fsyncDir('/');
    for (const name of ['a', 'b', 'c']) fs.close(writeFile(fs, `/d/${name}`, Buffer.from(name), true));
    fs.fsyncDir('/d');
    fs.unlink('/d/a');
    fs.unlink('/d/b');
    fs.close(writeFile(fs, '/d/n', Buffer.from('n'), true));
    fs.crash('sectors');
    outcomes.add(fs.readdir('/d').join(''));
  }
  // Eight combinations of three independent changes; a good share of them show up.
  assert.ok(outcomes.size >= 5, [...outcomes].join(' '));
  assert.ok([...outcomes].every((o) => o.includes('c')), 'a synced entry is never lost');
});
