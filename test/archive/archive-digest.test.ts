import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ExitCode, LifeboatError } from '../../src/errors.js';
import { digestArchive } from '../../src/archive/archive-digest.js';
import { headFrame, skippableFrame } from '../../src/archive/archive-writer.js';
import { compressFrame } from '../../src/archive/compression.js';
import { TAR_END, tarPadding } from '../../src/archive/tar-header.js';
import { snapshotBytes } from './helpers.js';

const when = new Date(Date.UTC(2026, 10, 25, 12, 0, 0));
const manifest = Buffer.from('{"schema":"test","id":"x"}\n');

/** An archive as save writes it: head frame, optional skippable padding, body frame (body + padding + end blocks). */
function archiveOf(body: Buffer, options: { padding?: number; tail?: Buffer } = {}): Buffer {
  const head = headFrame(manifest, 'x.snap', body.length, when, 3);
  const tail = options.tail ?? Buffer.concat([tarPadding(body.length), TAR_END]);
  return Buffer.concat([head, ...(options.padding ? [skippableFrame(options.padding)] : []), compressFrame(Buffer.concat([body, tail]), 3)]);
}

/** Feeds an archive in uneven pieces, as a file or socket would. */
function pieces(bytes: Buffer, size = 7777): Readable {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return Readable.from(out);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const integrity = (err: unknown) => err instanceof LifeboatError && err.exitCode === ExitCode.integrity && !err.message.includes('\n');

test('a digest read gives the archive and snapshot sizes and SHA-256s, the manifest entry and the trailer, with or without skippable padding', async () => {
  const body = await snapshotBytes(700);
  for (const padding of [0, 8, 5000]) {
    const archive = archiveOf(body, { padding });
    const d = await digestArchive(pieces(archive), { where: 'a.tar.zst' });
    assert.equal(d.archiveBytes, archive.length);
    assert.equal(d.archiveSha256, sha(archive));
    assert.ok(d.manifestBytes.equals(manifest));
    assert.equal(d.snapshotName, 'x.snap');
    assert.equal(d.snapshot.bytes, body.length);
    assert.equal(d.snapshot.sha256, sha(body));
    assert.equal(d.snapshot.trailer?.recordCount, 700);
  }
});

test('a digest read refuses a cut-short archive, a damaged frame, garbage after the entry and a non-zero tail, each with exit 13', async () => {
  const body = await snapshotBytes(300);
  const archive = archiveOf(body);
  await assert.rejects(digestArchive(pieces(archive.subarray(0, archive.length - 10)), { where: 'a' }), integrity);
  const flipped = Buffer.from(archive);
  flipped[flipped.length - 40]! ^= 0x01;
  await assert.rejects(digestArchive(pieces(flipped), { where: 'a' }), integrity);
  const extra = archiveOf(body, { tail: Buffer.concat([tarPadding(body.length), TAR_END, Buffer.alloc(512)]) });
  await assert.rejects(digestArchive(pieces(extra), { where: 'a' }), integrity);
  const dirty = Buffer.concat([tarPadding(body.length), TAR_END]);
  dirty[dirty.length - 1] = 1;
  await assert.rejects(digestArchive(pieces(archiveOf(body, { tail: dirty })), { where: 'a' }), integrity);
  await assert.rejects(digestArchive(pieces(Buffer.from('not an archive at all')), { where: 'a' }), integrity);
});
