// What the 3 a.m. operator and the CI drill meet in a damaged repository (PRODUCT.md sections 3,
// 5 and 6): a truncated, corrupt or missing archive, a manifest that is garbage, foreign or names
// another snapshot, an archive whose manifest never arrived, a repository from a newer version.
// Every read of the damaged snapshot ends in the documented exit code with one error line and a
// hint; nothing is restored from it, and the data directory is left exactly as it was.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { tempDir } from '../archive/helpers.js';
import { runCli } from '../archive/cli.js';
import { assertFailure, assertSuccess, singleJson, tinyRepository } from '../cli/contract.js';
import { committedIds, fingerprint, restoreFlags } from './helpers.js';

let work: { dir: string; cleanup: () => Promise<void> };
let pristine: string; // two good snapshots, older first
let older: string;
let newest: string;
let readsChecked = 0;

before(async () => {
  work = await tempDir('contract-damaged');
  pristine = join(work.dir, 'pristine');
  [older, newest] = (await tinyRepository(pristine, 2)).ids as [string, string];
});

after(async () => {
  await work?.cleanup();
});

/** A copy of the good repository, damaged by `harm`, under a name of its own. */
function damaged(name: string, harm: (snapshots: string) => void): string {
  const dir = join(work.dir, name);
  cpSync(pristine, dir, { recursive: true });
  harm(join(dir, 'snapshots'));
  return dir;
}

/**
 * Runs every command that reads `id` from `repo` (side by side: they only read) and asserts each
 * fails with `code` and `message`; no data directory appears and the repository is unchanged.
 */
async function everyReadFails(repo: string, id: string, code: number, message: RegExp): Promise<void> {
  const before = fingerprint(repo);
  const dataDir = join(work.dir, `restore-${Math.random().toString(16).slice(2)}`);
  const prepared = join(work.dir, `prepared-${Math.random().toString(16).slice(2)}`);
  // An operator's empty directory, made ready for the restore, must stay empty.
  mkdirSync(prepared);
  const runs: Array<[string, string[]]> = [
    ...['verify', 'inspect', 'dump'].map((cmd): [string, string[]] => [`snapshot ${cmd} ${id}`, ['snapshot', cmd, id, '--repo', repo]]),
    [`snapshot restore ${id} into an empty directory`, ['snapshot', 'restore', id, '--repo', repo, ...restoreFlags(prepared)]],
    [`snapshot restore ${id}`, ['snapshot', 'restore', id, '--repo', repo, ...restoreFlags(dataDir)]],
  ];
  // A restore into a new directory adds nothing new after the first few kinds of damage.
  if (++readsChecked > 3) runs.pop();
  const results = await Promise.all(runs.map(([, args]) => runCli(args)));
  results.forEach((r, i) => {
    const what = runs[i]![0];
    assertFailure(what, r, code, message);
    if (what.startsWith('snapshot dump')) {
      // dump streams: records from chunks that passed their CRC may precede the failure, but
      // every line is a whole record, never a torn one (the exit code tells the pipeline).
      for (const line of r.stdout.split('\n').filter((l) => l !== '')) assert.equal(typeof JSON.parse(line).key, 'string', `${what}: ${line}`);
    } else {
      assert.equal(r.stdout, '', `${what}: nothing on stdout`);
    }
  });
  assert.equal(existsSync(dataDir), false, 'no data directory is created from a damaged snapshot');
  assert.deepEqual(readdirSync(prepared), [], 'the prepared directory is left empty');
  assert.deepEqual(fingerprint(repo), before, 'reading a damaged snapshot changes nothing in the repository');
}

test('a truncated archive is an integrity failure for verify, inspect, dump and restore, by ID and as latest', async () => {
  const repo = damaged('truncated', (s) => truncateSync(join(s, `${newest}.tar.zst`), 700));
  await everyReadFails(repo, newest, ExitCode.integrity, /truncated|700 bytes/);
  await everyReadFails(repo, 'latest', ExitCode.integrity, new RegExp(newest));
});

test('an archive with one flipped byte is an integrity failure everywhere it is read', async () => {
  const repo = damaged('flipped', (s) => {
    const path = join(s, `${newest}.tar.zst`);
    const bytes = readFileSync(path);
    bytes[Math.floor(bytes.length * 0.6)]! ^= 0x01;
    writeFileSync(path, bytes);
  });
  await everyReadFails(repo, newest, ExitCode.integrity, new RegExp(newest));
});

test('another snapshot\'s archive put in place of this one is caught before anything is restored', async () => {
  const repo = damaged('swapped', (s) => cpSync(join(s, `${older}.tar.zst`), join(s, `${newest}.tar.zst`)));
  await everyReadFails(repo, newest, ExitCode.integrity, /replaced|SHA-256|manifest says/);
});

test('a manifest whose archive is missing is a damaged backup (exit 13), flagged by list and by verify --all', async () => {
  const repo = damaged('missing-archive', (s) => unlinkSync(join(s, `${newest}.tar.zst`)));
  await everyReadFails(repo, newest, ExitCode.integrity, /archive .* is missing/);
  const listed = await runCli(['snapshot', 'list', '--repo', repo, '--json']);
  assertSuccess('list', listed);
  const doc = singleJson('list', listed, 'lifeboat.snapshot.list/v1');
  assert.equal(doc.snapshots.find((x: { id: string }) => x.id === newest)?.archivePresent, false, 'list marks the snapshot whose archive is gone');
  assert.match(listed.stderr, new RegExp(`${newest}.*missing`), 'and warns about it on stderr');
  const all = await runCli(['snapshot', 'verify', '--all', '--repo', repo]);
  assertFailure('verify --all', all, ExitCode.integrity, /1 of 2 snapshots failed verification/);
});

test('a manifest that is not JSON, not a Lifeboat manifest, or names another snapshot fails every read of that ID with exit 13', async () => {
  const garbage = damaged('garbage-manifest', (s) => writeFileSync(join(s, `${newest}.json`), '{ not json'));
  await everyReadFails(garbage, newest, ExitCode.integrity, /not valid JSON/);
  const foreign = damaged('foreign-manifest', (s) => writeFileSync(join(s, `${newest}.json`), '{"hello":"world"}'));
  await everyReadFails(foreign, newest, ExitCode.integrity, /not a Lifeboat manifest/);
  const other = damaged('other-manifest', (s) => cpSync(join(s, `${older}.json`), join(s, `${newest}.json`)));
  await everyReadFails(other, newest, ExitCode.integrity, new RegExp(`names snapshot ${older}`));
  const escaping = damaged('escaping-manifest', (s) => {
    const path = join(s, `${newest}.json`);
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    manifest.archiveKey = '../../../etc/passwd';
    writeFileSync(path, JSON.stringify(manifest));
  });
  await everyReadFails(escaping, newest, ExitCode.integrity, /archiveKey/);
  // "latest" must not quietly mean the older snapshot when the newest manifest is unreadable.
  const fallback = join(work.dir, 'from-latest-of-damaged');
  for (const repo of [garbage, foreign]) {
    assertFailure('verify latest', await runCli(['snapshot', 'verify', 'latest', '--repo', repo]), ExitCode.integrity, new RegExp(newest), new RegExp(older));
    assertFailure('restore latest', await runCli(['snapshot', 'restore', 'latest', '--repo', repo, ...restoreFlags(fallback)]), ExitCode.integrity, new RegExp(newest));
    assert.equal(existsSync(fallback), false, 'nothing was restored');
  }
  for (const repo of [garbage, foreign, other]) {
    assertFailure('verify --all', await runCli(['snapshot', 'verify', '--all', '--repo', repo]), ExitCode.integrity, /failed verification/);
  }
});

test('an archive without its manifest is never listed or restored, and prune removes it once it is old', async () => {
  const repo = damaged('incomplete', (s) => unlinkSync(join(s, `${newest}.json`)));
  const listed = await runCli(['snapshot', 'list', '--repo', repo, '--json']);
  assertSuccess('list', listed);
  const doc = singleJson('list', listed, 'lifeboat.snapshot.list/v1');
  assert.deepEqual(doc.snapshots.map((x: { id: string }) => x.id), [older], 'only the committed snapshot is listed');
  assert.deepEqual(doc.incomplete, [`snapshots/${newest}.tar.zst`]);
  for (const cmd of ['verify', 'inspect', 'dump']) {
    assertFailure(`${cmd} of an incomplete upload`, await runCli(['snapshot', cmd, newest, '--repo', repo]), ExitCode.notFound, /incomplete: its archive has no manifest/, /never restored/);
  }
  const dataDir = join(work.dir, 'from-incomplete');
  assertFailure('restore of an incomplete upload', await runCli(['snapshot', 'restore', newest, '--repo', repo, ...restoreFlags(dataDir)]), ExitCode.notFound, /incomplete/);
  assert.equal(existsSync(dataDir), false);
  // "latest" means the newest committed snapshot: the incomplete upload is not a candidate.
  const latest = await runCli(['snapshot', 'inspect', 'latest', '--repo', repo, '--json']);
  assertSuccess('inspect latest', latest);
  assert.equal(singleJson('inspect latest', latest, 'lifeboat.snapshot.inspect/v1').target, older);

  // A fresh orphan may be a save still uploading, so prune leaves it; an hour-old one is removed.
  const orphan = join(repo, 'snapshots', `${newest}.tar.zst`);
  assertSuccess('prune (fresh orphan)', await runCli(['snapshot', 'prune', '--repo', repo, '--keep-last', '5']));
  assert.equal(existsSync(orphan), true, 'a fresh incomplete upload is left for its save to finish');
  const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
  utimesSync(orphan, twoHoursAgo, twoHoursAgo);
  const pruned = await runCli(['snapshot', 'prune', '--repo', repo, '--keep-last', '5', '--json']);
  assertSuccess('prune (old orphan)', pruned);
  assert.deepEqual(singleJson('prune', pruned, 'lifeboat.snapshot.prune/v1').incomplete, [`snapshots/${newest}.tar.zst`]);
  assert.equal(existsSync(orphan), false, 'prune removed the incomplete upload');
  assert.deepEqual(committedIds(repo), [older], 'and kept the committed snapshot');
});

test('a repository written by a newer layout version is refused with a hint to upgrade, not misread', async () => {
  const repo = damaged('future', () => {});
  const markerPath = join(repo, 'lifeboat-repo.json');
  const marker = JSON.parse(readFileSync(markerPath, 'utf8'));
  marker.formatVersion = 99;
  writeFileSync(markerPath, JSON.stringify(marker));
  const before = fingerprint(repo);
  const commands = [['snapshot', 'list'], ['snapshot', 'verify', 'latest'], ['snapshot', 'prune', '--keep-last', '1']];
  const results = await Promise.all(commands.map((args) => runCli([...args, '--repo', repo])));
  results.forEach((r, i) => assertFailure(commands[i]!.join(' '), r, ExitCode.integrity, /layout version 99/, /upgrade/));
  assert.deepEqual(fingerprint(repo), before, 'nothing was pruned or rewritten');
});

test('a snapshot path that is truncated, foreign or absent is refused with 13, 13 and 10, and restores nothing', async () => {
  const files = join(work.dir, 'loose');
  mkdirSync(files);
  const cut = join(files, 'cut.tar.zst');
  writeFileSync(cut, readFileSync(join(pristine, 'snapshots', `${newest}.tar.zst`)).subarray(0, 700));
  const foreign = join(files, 'notes.txt');
  writeFileSync(foreign, 'these are not the backups you are looking for\n');
  const cases: Array<[string, number, RegExp]> = [
    [cut, ExitCode.integrity, /not a valid zstd stream|truncated|cut short/],
    [foreign, ExitCode.integrity, /neither a Lifeboat archive .* nor a Lifeboat snapshot/],
    [join(files, 'absent.tar.zst'), ExitCode.notFound, /not found/],
  ];
  await Promise.all(cases.map(async ([path, code, message], n) => {
    const dataDir = join(work.dir, `from-file-${n}`);
    const runs = [...['verify', 'inspect', 'dump'].map((cmd) => ['snapshot', cmd, path]), ['snapshot', 'restore', path, ...restoreFlags(dataDir)]];
    const results = await Promise.all(runs.map((args) => runCli(args)));
    results.forEach((r, i) => assertFailure(runs[i]!.slice(0, 3).join(' '), r, code, message));
    assert.equal(existsSync(dataDir), false, `nothing is restored from ${path}`);
  }));
});

test('a repository with no snapshots left makes verify latest, verify --all, restore latest and drill exit 10, so a CI drill cannot pass on nothing', async () => {
  const repo = damaged('emptied', (s) => {
    for (const f of readdirSync(s)) unlinkSync(join(s, f));
  });
  const dataDir = join(work.dir, 'from-nothing');
  const runs: Array<[string, string[]]> = [
    ['verify latest', ['snapshot', 'verify', 'latest', '--repo', repo]],
    ['verify --all', ['snapshot', 'verify', '--all', '--repo', repo]],
    ['restore latest', ['snapshot', 'restore', 'latest', '--repo', repo, ...restoreFlags(dataDir)]],
    ['drill', ['drill', '--repo', repo, '--members', '1']],
  ];
  const results = await Promise.all(runs.map(([, args]) => runCli(args, { TMPDIR: work.dir })));
  results.forEach((r, i) => assertFailure(runs[i]![0], r, ExitCode.notFound, /no snapshots in/, /snapshot save/));
  assert.equal(existsSync(dataDir), false);
});

test('a damaged repository marker is exit 13, and a directory that is not a repository is never written into (17 for save, 10 for list)', async () => {
  const marker = damaged('bad-marker', () => {});
  writeFileSync(join(marker, 'lifeboat-repo.json'), '{garbage');
  const foreign = join(work.dir, 'someone-elses');
  mkdirSync(foreign);
  writeFileSync(join(foreign, 'notes.txt'), 'not a backup');
  const before = { marker: fingerprint(marker), foreign: fingerprint(foreign) };
  const dead = 'http://127.0.0.1:1';
  const [list, save, foreignSave, foreignList] = await Promise.all([
    runCli(['snapshot', 'list', '--repo', marker]),
    runCli(['snapshot', 'save', '--endpoints', dead, '--repo', marker]),
    runCli(['snapshot', 'save', '--endpoints', dead, '--repo', foreign]),
    runCli(['snapshot', 'list', '--repo', foreign]),
  ]);
  assertFailure('list with a damaged marker', list, ExitCode.integrity, /marker .* is not valid JSON/, /--repo/);
  assertFailure('save with a damaged marker', save, ExitCode.integrity, /marker .* is not valid JSON/);
  assertFailure('save into a foreign directory', foreignSave, ExitCode.unsafe, /not empty and is not a Lifeboat repository/, /--repo/);
  assertFailure('list of a foreign directory', foreignList, ExitCode.notFound, /no repository/);
  assert.deepEqual({ marker: fingerprint(marker), foreign: fingerprint(foreign) }, before, 'neither directory was written');
});
