import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultyFileSystem } from '../../src/storage/faulty-file-system.js';
import { readIdentity, writeIdentity, IDENTITY_FILE } from '../../src/storage/identity.js';
import { CorruptionError } from '../../src/storage/corruption-error.js';
import { StorageFailedError } from '../../src/storage/storage-failed-error.js';

const id = { clusterId: 'cdf818194e3a8c32', memberId: '8e9e05c52164694d', name: 'infra1' };

test('an identity file reads back what was written, and survives a crash once written', () => {
  const fs = new FaultyFileSystem();
  assert.equal(readIdentity(fs, '/data/m'), undefined);
  writeIdentity(fs, '/data/m', id);
  fs.crash();
  assert.deepEqual(readIdentity(fs, '/data/m'), id);
});

test('rewriting an identity file replaces it whole', () => {
  const fs = new FaultyFileSystem();
  writeIdentity(fs, '/data/m', id);
  writeIdentity(fs, '/data/m', { ...id, name: 'infra2' });
  fs.crash();
  assert.equal(readIdentity(fs, '/data/m')?.name, 'infra2');
  assert.deepEqual(fs.readdir('/data/m'), [IDENTITY_FILE]);
});

test('a damaged identity file is refused with the file named', () => {
  const fs = new FaultyFileSystem();
  writeIdentity(fs, '/data/m', id);
  const path = `/data/m/${IDENTITY_FILE}`;
  const text = fs.readRaw(path).toString().replace('infra1', 'infra7');
  fs.writeRaw(path, Buffer.from(text));
  assert.throws(() => readIdentity(fs, '/data/m'), (err: unknown) => err instanceof CorruptionError && err.file === path && /checksum/.test(err.message));
  fs.writeRaw(path, Buffer.from('{"not json'));
  assert.throws(() => readIdentity(fs, '/data/m'), CorruptionError);
});

test('a failed identity write is a storage failure', () => {
  const fs = new FaultyFileSystem();
  fs.failNext('fsync', 'EIO');
  assert.throws(() => writeIdentity(fs, '/data/m', id), (err: unknown) => err instanceof StorageFailedError && err.code === 'EIO');
});
