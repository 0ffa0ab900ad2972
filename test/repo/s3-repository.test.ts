import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Repository, parseS3Url } from '../../src/repo/s3-repository.js';
import { ExitCode, LifeboatError } from '../../src/errors.js';
import { startS3Server, type S3Server } from './s3-server.js';

let s3: S3Server;
before(async () => {
  s3 = await startS3Server();
});
after(async () => {
  await s3.stop();
});

function repo(prefix: string, overrides: Partial<ConstructorParameters<typeof S3Repository>[1]> = {}): S3Repository {
  return new S3Repository(`s3://${s3.bucket}/${prefix}`, { endpoint: s3.endpoint, partSizeBytes: 5 * 1024 * 1024, ...overrides });
}

/** A stream of `size` pseudo-random bytes produced in chunks, never held whole. */
function generated(size: number, seed = 1): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  let sent = 0;
  let counter = seed;
  const stream = new Readable({
    read() {
      if (sent >= size) return this.push(null);
      const n = Math.min(256 * 1024, size - sent);
      const chunk = Buffer.alloc(n, counter++ & 0xff);
      chunk.writeUInt32BE(counter, 0);
      hash.update(chunk);
      sent += n;
      this.push(chunk);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function exitCodeOf(code: number) {
  return (err: unknown) => {
    assert.ok(err instanceof LifeboatError, `expected a LifeboatError, got ${err}`);
    assert.equal(err.exitCode, code, err.message);
    assert.ok(err.hint.length > 0);
    return true;
  };
}

test('s3 URLs split into bucket and prefix, and malformed ones are usage errors naming --repo', () => {
  assert.deepEqual(parseS3Url('s3://my-bucket/etcd/prod/'), { bucket: 'my-bucket', prefix: 'etcd/prod' });
  assert.deepEqual(parseS3Url('s3://my-bucket'), { bucket: 'my-bucket', prefix: '' });
  assert.throws(() => parseS3Url('s3:///nobucket'), exitCodeOf(ExitCode.usage));
});

test('a new prefix is not a repository until initialized, then it is', async () => {
  const r = repo('init-test');
  await assert.rejects(r.checkInitialized(), exitCodeOf(ExitCode.notFound));
  await r.ensureInitialized();
  await r.checkInitialized();
  await r.ensureInitialized(); // idempotent
  assert.deepEqual((await r.list('')).map((o) => o.key), ['lifeboat-repo.json']);
});

test('a multi-part streamed upload round-trips byte for byte and is readable by an independent client', async () => {
  const r = repo('multipart');
  const size = 12 * 1024 * 1024 + 12345; // three parts of 5 MiB
  const source = generated(size);
  const progress: number[] = [];
  const { bytes } = await r.writeStream('snapshots/big.tar.zst', source.stream, { onProgress: (n) => progress.push(n) });
  assert.equal(bytes, size);
  const expected = source.sha256();
  assert.equal((await r.stat('snapshots/big.tar.zst'))?.size, size);
  assert.equal(await sha256Of(await r.read('snapshots/big.tar.zst')), expected);
  assert.ok(progress.length > 0);

  if (existsSync('/usr/bin/aws')) {
    const out = spawnSync('/usr/bin/aws', ['--endpoint-url', s3.endpoint, 's3', 'cp', `s3://${s3.bucket}/multipart/snapshots/big.tar.zst`, '-'], {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1' },
    });
    assert.equal(out.status, 0, out.stderr?.toString());
    assert.equal(createHash('sha256').update(out.stdout).digest('hex'), expected);
  } else {
    // A plain signed GET from a fresh client with default settings: nothing of Lifeboat's in the path.
    const plain = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true });
    const got = await plain.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'multipart/snapshots/big.tar.zst' }));
    assert.equal(await sha256Of(got.Body as Readable), expected);
    plain.destroy();
  }
});

test('an existing object is never overwritten', async () => {
  const r = repo('overwrite');
  await r.writeSmall('snapshots/a.json', Buffer.from('first'));
  await assert.rejects(r.writeStream('snapshots/a.json', Readable.from([Buffer.from('second')])), exitCodeOf(ExitCode.storageUnavailable));
  assert.equal((await r.readSmall('snapshots/a.json')).toString(), 'first');
});

test('createExclusive creates once and then reports the object as taken', async () => {
  const r = repo('exclusive');
  assert.equal(await r.createExclusive('locks/lock.json', Buffer.from('a')), true);
  assert.equal(await r.createExclusive('locks/lock.json', Buffer.from('b')), false);
  assert.equal((await r.readSmall('locks/lock.json')).toString(), 'a');
  await r.delete('locks/lock.json');
  await r.delete('locks/lock.json'); // deleting a missing key is fine
  assert.equal(await r.stat('locks/lock.json'), undefined);
});

test('compareAndDelete deletes only an object that still holds exactly the expected bytes', async () => {
  const r = repo('compare-and-delete');
  assert.equal(await r.compareAndDelete('locks/lock.json', Buffer.from('stale')), false, 'nothing to delete');
  await r.writeSmall('locks/lock.json', Buffer.from('fresh'));
  assert.equal(await r.compareAndDelete('locks/lock.json', Buffer.from('stale')), false);
  assert.equal((await r.readSmall('locks/lock.json')).toString(), 'fresh');
  // s3rver ignores If-Match, so this exercises the compare and the delete, not the atomic condition AWS adds.
  assert.equal(await r.compareAndDelete('locks/lock.json', Buffer.from('fresh')), true);
  assert.equal(await r.stat('locks/lock.json'), undefined);
});

test('listing pages through more than one page of keys', async () => {
  const r = repo('paging');
  for (let batch = 0; batch < 1010; batch += 50) {
    const keys = Array.from({ length: Math.min(50, 1010 - batch) }, (_, i) => `drills/${String(batch + i).padStart(5, '0')}.json`);
    await Promise.all(keys.map((key) => r.writeSmall(key, Buffer.from('{}'))));
  }
  const listed = await r.list('drills/');
  assert.equal(listed.length, 1010);
  assert.equal(listed[0]!.key, 'drills/00000.json');
});

test('reading a missing object is "not found" (exit 10)', async () => {
  await assert.rejects(repo('missing').readSmall('snapshots/nope.json'), exitCodeOf(ExitCode.notFound));
});

test('a missing bucket is "not found" (exit 10) and names the bucket problem', async () => {
  const r = new S3Repository('s3://no-such-bucket/x', { endpoint: s3.endpoint });
  await assert.rejects(r.checkInitialized(), exitCodeOf(ExitCode.notFound));
  await assert.rejects(r.ensureInitialized(), (err: unknown) => err instanceof LifeboatError && /bucket does not exist/.test(err.message));
});

test('wrong credentials are "storage unavailable" (exit 14) and the secret is never printed', async () => {
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = 'WRONGKEY';
  process.env.AWS_SECRET_ACCESS_KEY = 'very-secret-value';
  try {
    const r = repo('creds', { maxAttempts: 1 });
    await assert.rejects(r.ensureInitialized(), (err: unknown) => {
      exitCodeOf(ExitCode.storageUnavailable)(err);
      const e = err as LifeboatError;
      assert.doesNotMatch(e.message + e.hint, /very-secret-value/);
      return true;
    });
  } finally {
    process.env.AWS_ACCESS_KEY_ID = saved.id;
    process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
  }
});

test('an aborted upload stores nothing under the key', async () => {
  const r = repo('abort');
  const controller = new AbortController();
  const source = generated(64 * 1024 * 1024);
  let aborted = false;
  const upload = r.writeStream('snapshots/aborted.tar.zst', source.stream, {
    signal: controller.signal,
    onProgress: () => {
      if (!aborted) {
        aborted = true;
        controller.abort(new Error('stop'));
      }
    },
  });
  await assert.rejects(upload);
  assert.equal(await r.stat('snapshots/aborted.tar.zst'), undefined);
});

test('the S3 server dying mid-upload is exit 14 and leaves no object behind', { timeout: 120_000 }, async () => {
  const r = repo('dying', { maxAttempts: 2 });
  const source = generated(64 * 1024 * 1024);
  let killed: Promise<void> | undefined;
  const upload = r.writeStream('snapshots/dying.tar.zst', source.stream, {
    onProgress: () => {
      killed ??= s3.kill();
    },
  });
  await assert.rejects(upload, exitCodeOf(ExitCode.storageUnavailable));
  await killed;
  await s3.restart();
  assert.equal(await r.stat('snapshots/dying.tar.zst'), undefined);
  assert.deepEqual((await r.list('snapshots/')).map((o) => o.key), []);
});

test('stale incomplete multipart uploads are cleaned up without error', async () => {
  const r = repo('cleanup');
  assert.equal(typeof (await r.cleanupIncomplete(new Date())), 'number');
});
