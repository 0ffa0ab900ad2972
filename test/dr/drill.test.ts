import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encodeSnapshot } from '../../src/snapshot/index.js';
import { saveFromStream } from '../../src/dr/save.js';
import { runDrill } from '../../src/dr/drill.js';
import { toJUnit } from '../../src/dr/drill-report.js';
import { listSnapshots } from '../../src/dr/catalog.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { S3Repository } from '../../src/repo/s3-repository.js';
import type { Repository } from '../../src/repo/repository.js';
import { ExitCode } from '../../src/errors.js';
import { header, records } from '../archive/helpers.js';
import { startS3Server, type S3Server } from '../repo/s3-server.js';
import { waitFor } from '../helpers/wait-for.js';

const BIN = resolve(import.meta.dirname, '../../bin/lifeboat');

async function saveSample(repo: Repository, keys = 500): Promise<string> {
  const stream = encodeSnapshot(header(keys, keys + 7), records(keys), { chunkBytes: 16 * 1024 });
  const { manifest } = await saveFromStream(stream, { repo, consistency: 'linearizable', source: 'test' });
  return manifest.id;
}

/** Names of `lifeboat serve` processes whose arguments mention `path`. */
function membersUnder(path: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).stdout;
  return ps.split('\n').filter((l) => l.includes(' serve ') && l.includes(path));
}

/** A small strict XML well-formedness check: balanced tags, quoted attributes, escaped text. */
function parseXml(text: string): { name: string; attrs: Record<string, string>; children: any[] } {
  const body = text.replace(/^<\?xml[^>]*\?>\s*/, '');
  const stack: { name: string; attrs: Record<string, string>; children: any[] }[] = [{ name: '#root', attrs: {}, children: [] }];
  const token = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = token.exec(body))) {
    consumed = token.lastIndex;
    if (m[5] !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(m[5])) throw new Error(`unescaped & in ${m[5]}`);
      continue;
    }
    const [, closing, name, rawAttrs, selfClosing] = m;
    if (closing) {
      const open = stack.pop()!;
      if (open.name !== name) throw new Error(`</${name}> closes <${open.name}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of rawAttrs!.matchAll(/([\w:.-]+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    const node = { name: name!, attrs, children: [] };
    stack[stack.length - 1]!.children.push(node);
    if (!selfClosing) stack.push(node);
  }
  if (consumed !== body.length) throw new Error(`not well-formed at offset ${consumed}`);
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  return stack[0]!.children[0];
}

test('a drill of a good snapshot passes every check, tears everything down and stores its report', { timeout: 240_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-drill-test-'));
  try {
    const repo = new LocalRepository(join(work, 'repo'));
    const id = await saveSample(repo);
    const scratch = join(work, 'scratch');
    mkdirSync(scratch);
    const { report, error } = await runDrill({ repo, snapshot: 'latest', members: 3, workDir: scratch });
    assert.equal(error, undefined);
    assert.equal(report.result, 'pass', JSON.stringify(report.checks, null, 2));
    assert.equal(report.snapshotId, id);
    const names = report.checks.map((c) => c.name);
    for (const expected of [/starts and elects a leader/, /revision equals/, /key count equals/, /hashkv of member 3/, /sampled keys/, /probe write/, /cluster ID differs/]) {
      assert.ok(names.some((n) => expected.test(n)), `missing check ${expected}`);
    }
    for (const phase of ['downloadMs', 'verifyMs', 'restoreMs', 'startMs', 'checksMs', 'recoveryMs', 'totalMs'] as const) {
      assert.equal(typeof report.phases[phase], 'number', phase);
    }
    assert.deepEqual(readdirSync(scratch), [], 'the throwaway cluster is removed');
    assert.deepEqual(membersUnder(scratch), [], 'no member process is left');
    const listed = (await listSnapshots(repo)).snapshots[0]!;
    assert.equal(listed.lastDrill?.result, 'pass');

    const junit = parseXml(toJUnit(report));
    assert.equal(junit.name, 'testsuites');
    const cases = junit.children[0].children.filter((c: any) => c.name === 'testcase');
    assert.equal(cases.length, report.checks.length);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('a drill whose restored cluster disagrees with the manifest exits 16 and names the check, with a JUnit failure', { timeout: 240_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-drill-lie-'));
  try {
    const root = join(work, 'repo');
    const repo = new LocalRepository(root);
    const id = await saveSample(repo, 200);
    const manifestPath = join(root, 'snapshots', `${id}.json`);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    manifest.keyCount += 1;
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
    const junitPath = join(work, 'drill.xml');
    const run = spawnSync(process.execPath, [BIN, 'drill', '--repo', root, '--members', '1', '--junit', junitPath], { encoding: 'utf8', env: { ...process.env, TMPDIR: work } });
    assert.equal(run.status, ExitCode.drillFailed, run.stderr);
    assert.match(run.stderr, /^lifeboat: drill of .* failed: key count equals the manifest: expected 201, got 200$/m);
    assert.match(run.stderr, /^hint: /m);
    const junit = parseXml(readFileSync(junitPath, 'utf8'));
    const failures = junit.children[0].children.filter((c: any) => c.children.some((f: any) => f.name === 'failure'));
    assert.deepEqual(failures.map((f: any) => f.attrs.name), ['key count equals the manifest']);
    assert.equal((await listSnapshots(repo)).snapshots[0]!.lastDrill?.result, 'fail');
    assert.deepEqual(readdirSync(work).filter((f) => f.startsWith('lifeboat-drill-')), []);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('a drill of a snapshot whose archive was corrupted in the repository exits 13', { timeout: 120_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-drill-corrupt-'));
  try {
    const root = join(work, 'repo');
    const repo = new LocalRepository(root);
    const id = await saveSample(repo, 300);
    const archivePath = join(root, 'snapshots', `${id}.tar.zst`);
    const bytes = readFileSync(archivePath);
    bytes[bytes.length - 100]! ^= 0x01;
    writeFileSync(archivePath, bytes);
    const run = spawnSync(process.execPath, [BIN, 'drill', '--repo', root, '--json'], { encoding: 'utf8', env: { ...process.env, TMPDIR: work } });
    assert.equal(run.status, ExitCode.integrity, run.stderr);
    assert.match(run.stderr, /^lifeboat: snapshot .*SHA-256/m);
    const docs = run.stdout.trim().split(/\n(?=\{)/).map((d) => JSON.parse(d));
    assert.equal(docs[0].schema, 'lifeboat.drill/v1');
    assert.equal(docs[0].result, 'fail');
    assert.deepEqual(readdirSync(work).filter((f) => f.startsWith('lifeboat-drill-')), []);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('Ctrl-C during a drill stops every member and removes the throwaway cluster', { timeout: 180_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-drill-int-'));
  try {
    const root = join(work, 'repo');
    await saveSample(new LocalRepository(root), 300);
    const child = spawn(process.execPath, [BIN, 'drill', '--repo', root], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TMPDIR: work } });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    await waitFor('the members to start', () => /starting the members/.test(stderr) && membersUnder(work).length > 0, 120_000);
    child.kill('SIGINT');
    assert.equal(await exit, ExitCode.interrupted, stderr);
    await waitFor('every member to exit', () => membersUnder(work).length === 0, 30_000);
    assert.deepEqual(readdirSync(work).filter((f) => f.startsWith('lifeboat-drill-')), []);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

let s3: S3Server;
before(async () => {
  s3 = await startS3Server('drill-bucket');
});
after(async () => {
  await s3.stop();
});

test('a drill of a snapshot in S3 passes', { timeout: 240_000 }, async () => {
  const repo = new S3Repository(`s3://${s3.bucket}/prod`, { endpoint: s3.endpoint });
  try {
    await saveSample(repo, 300);
    const { report, error } = await runDrill({ repo, snapshot: 'latest', members: 3 });
    assert.equal(error, undefined);
    assert.equal(report.result, 'pass', JSON.stringify(report.checks, null, 2));
    assert.equal((await repo.list('drills/')).length, 1);
  } finally {
    repo.close();
  }
});
