// Bad flags and bad values on every command (PRODUCT.md section 5): each is exit 2 with one
// `lifeboat:` line that names the flag or argument, a `hint:` line after it, nothing on stdout
// (or, under --json, only the lifeboat.error/v1 document), and nothing created or changed:
// no data directory, no cluster directory, the repository byte for byte as it was.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { tempDir } from '../archive/helpers.js';
import { runCli, type CliResult } from '../archive/cli.js';
import { assertFailure, assertJsonFailure, tinyRepository } from '../cli/contract.js';
import { fingerprint, restoreFlags } from './helpers.js';

let work: { dir: string; cleanup: () => Promise<void> };
let repo: string;
let untouched: Record<string, string>;
let dataDir: string;
let dataRoot: string;
const DEAD = 'http://127.0.0.1:1';

before(async () => {
  work = await tempDir('contract-bad-input');
  repo = join(work.dir, 'repo');
  await tinyRepository(repo, 2);
  untouched = fingerprint(repo);
  dataDir = join(work.dir, 'restored');
  dataRoot = join(work.dir, 'cluster');
});

after(async () => {
  await work?.cleanup();
});

type Case = readonly [args: string[], message: RegExp, hint?: RegExp];

/**
 * Runs the cases `parallel` at a time (each is a process start) and checks each the same way.
 * Saves run one at a time: a save may take the repository lock before it reads every flag, and
 * two bad saves side by side would then meet each other's lock (see the report on that).
 */
async function allUsageErrors(cases: readonly Case[], json = false, parallel = 4): Promise<void> {
  for (let i = 0; i < cases.length; i += parallel) {
    const batch = cases.slice(i, i + parallel);
    const results: CliResult[] = await Promise.all(batch.map(([args]) => runCli(json ? [...args, '--json'] : args)));
    results.forEach((r, j) => {
      const [args, message, hint] = batch[j]!;
      const what = `lifeboat ${args.join(' ')}${json ? ' --json' : ''}`;
      if (json) assertJsonFailure(what, r, ExitCode.usage, message);
      else {
        assertFailure(what, r, ExitCode.usage, message, hint);
        assert.equal(r.stdout, '', `${what}: nothing on stdout`);
      }
    });
  }
  assert.deepEqual(fingerprint(repo), untouched, 'no bad invocation changed the repository');
  assert.equal(existsSync(dataDir), false, 'no bad restore created its data directory');
  assert.equal(existsSync(dataRoot), false, 'no bad cluster up created its data root');
}

test('snapshot save: every bad flag value is exit 2 naming the flag, before the cluster or the repository is touched', async () => {
  const save = ['snapshot', 'save', '--repo', repo, '--endpoints', DEAD];
  await allUsageErrors([
    [[...save, '--compression-level', '0'], /--compression-level must be an integer from 1 to 19/],
    [[...save, '--compression-level', 'fast'], /--compression-level/],
    [[...save, '--timeout', '5parsecs'], /--timeout/, /30s/],
    [[...save, '--lock-timeout', 'soon'], /--lock-timeout/],
    [[...save, '--on-locked', 'maybe'], /--on-locked/],
    [['snapshot', 'save', '--repo', repo, '--endpoints', 'http://'], /--endpoints/],
    [[...save, '--keep-last', '2'], /--keep-\* flags on snapshot save need --prune/, /--prune/],
    [[...save, '--from-data-dir', join(work.dir, 'no-such-member')], /--from-data-dir/],
    [[...save, '--allow-stale', '--from-data-dir', work.dir], /--allow-stale and --from-data-dir/],
    [['snapshot', 'save', '--endpoints', DEAD, '--repo', 'ftp://host/backups'], /--repo .* unsupported scheme/, /s3:\/\//],
    [['snapshot', 'save', '--endpoints', DEAD, '--repo', 's3://'], /--repo s3:\/\/ names no bucket/],
    [['snapshot', 'save', '--endpoints', DEAD, '--repo', ''], /--repo is empty/],
    [['snapshot', 'save', '--endpoints', DEAD], /--repo is required/, /LIFEBOAT_REPO/],
    [[...save, '--s3-sse', 'rot13'], /--s3-sse|rot13/],
    [[...save, '--compresion-level', '3'], /unknown option '--compresion-level'/, /did you mean --compression-level/],
  ], false, 1);
});

test('snapshot list, inspect, dump, verify and prune: missing or contradictory arguments and bad values are exit 2', async () => {
  await allUsageErrors([
    [['snapshot', 'inspect', '--repo', repo], /missing required argument 'snapshot'/, /snapshot inspect --help/],
    [['snapshot', 'inspect', 'a', 'b', '--repo', repo], /too many arguments/],
    [['snapshot', 'inspect', 'latest'], /--repo is required/],
    [['snapshot', 'dump', 'latest'], /--repo is required/],
    [['snapshot', 'verify', '--repo', repo], /which snapshot\?/, /verify latest/],
    [['snapshot', 'verify', 'latest', '--all', '--repo', repo], /either a snapshot or --all, not both/],
    [['snapshot', 'prune', '--repo', repo, '--keep-last', 'abc'], /--keep-last must be a whole number/],
    [['snapshot', 'prune', '--repo', repo, '--keep-daily', '1.5'], /--keep-daily/],
    [['snapshot', 'prune', '--repo', repo, '--keep-within', '3'], /--keep-within/, /36h|7d/],
    [['snapshot', 'prune', '--repo', repo, '--keep-last', '1', '--on-locked', 'later'], /--on-locked/],
    [['snapshot', 'prune', '--repo', repo, '--keep-last', '1', '--lock-timeout', 'x'], /--lock-timeout/],
    [['snapshot', 'list', '--repo', repo, '--cluster', 'zzz'], /--cluster zzz/],
    [['snapshot', 'list', '--repo', 's3://lifeboat-test/x', '--s3-endpoint', 'notaurl'], /--s3-endpoint notaurl/],
  ]);
});

test('snapshot restore: missing flags, a name outside the new cluster, bad URLs and half of --bump-revision are exit 2 and create nothing', async () => {
  const base = ['snapshot', 'restore', 'latest', '--repo', repo];
  const flags = restoreFlags(dataDir);
  const without = (flag: string) => {
    const at = flags.indexOf(flag);
    return [...flags.slice(0, at), ...flags.slice(at + 2)];
  };
  await allUsageErrors([
    [[...base, ...without('--name')], /--name is required/],
    [[...base, ...without('--data-dir')], /--data-dir/],
    [[...base, ...without('--initial-cluster')], /--initial-cluster/],
    [[...base, ...without('--initial-cluster-token')], /--initial-cluster-token is required/],
    [[...base, ...flags, '--name', 'b'], /--name b is not in --initial-cluster/],
    [[...base, ...without('--initial-cluster'), '--initial-cluster', 'a=notaurl'], /--initial-cluster: "notaurl" is not a URL/],
    [[...base, ...without('--initial-cluster'), '--initial-cluster', 'garbage'], /--initial-cluster: "garbage" is not name=url/],
    [[...base, ...flags, '--bump-revision', '10'], /--bump-revision and --mark-compacted go together/, /etcdutl/],
    [[...base, ...flags, '--mark-compacted'], /--bump-revision and --mark-compacted go together/],
    [[...base, ...flags, '--bump-revision', '-5', '--mark-compacted'], /--bump-revision/],
    [[...base, ...flags, '--initial-advertise-peer-urls', 'http://127.0.0.1:9'], /--initial-advertise-peer-urls .* does not match/],
    [[...base, ...flags, '--cluster', 'nothex'], /--cluster nothex/],
    [['snapshot', 'restore', ...flags], /missing required argument 'snapshot'/],
  ]);
});

test('client, member, endpoint, cluster, drill, demo and serve commands: bad arguments and values are exit 2', async () => {
  const e = ['--endpoints', DEAD];
  await allUsageErrors([
    [['put', 'k', ...e], /missing required argument 'value'/, /lifeboat put --help/],
    [['put', 'k', 'v', ...e, '--command-timeout', 'abc'], /--command-timeout/],
    [['get', 'k', ...e, '--limit', '-1'], /--limit/],
    [['del', ...e], /missing required argument 'key'/],
    [['member', 'add', 'n9', ...e], /--peer-urls/],
    [['member', 'add', 'n9', '--peer-urls', 'notaurl', ...e], /--peer-urls: notaurl/],
    [['member', 'remove', 'zz', ...e], /member ID "zz"/, /member list/],
    [['member', 'promote', ...e], /missing required argument 'id'/],
    [['member', 'frob', ...e], /unknown command 'frob'/],
    [['endpoint', 'status', '--endpoints', ''], /--endpoints/],
    [['endpoint'], /no command given/],
    [['cluster', 'up', '--members', '0', '--data-root', dataRoot], /--members/],
    [['cluster', 'up', '--members', '3'], /--data-root/],
    [['cluster', 'up', '--members', '1', '--data-root', dataRoot, '--base-port', '99999'], /--base-port/],
    [['drill', '--repo', repo, '--members', '0'], /--members/],
    [['drill', '--repo', repo, '--members', 'abc'], /--members/],
    [['drill', '--repo', repo, '--cluster', 'nothex'], /--cluster nothex/],
    [['cluster', 'up', '--members', '1', '--data-root', dataRoot, '--snapshot-count', 'abc'], /--snapshot-count/],
    [['drill', '--repo', repo, '--assert', join(work.dir, 'no-such-assertions.json')], /--assert/],
    [['drill'], /--repo is required/],
    [['demo', '--keys', 'abc'], /--keys/],
    [['serve', '--name'], /--name/],
    [['serve', '--initial-cluster-state', 'maybe', '--data-dir', dataDir], /--initial-cluster-state/],
    [['serve', '--snapshot-count', 'abc', '--data-dir', dataDir], /--snapshot-count/],
    [['serve', '--listen-client-urls', 'notaurl', '--data-dir', dataDir], /--listen-client-urls/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [[], /no command given/, /lifeboat --help/],
  ]);
});

test('under --json a usage error is the one lifeboat.error/v1 document, for every command that takes --json', async () => {
  await allUsageErrors([
    [['snapshot', 'save', '--repo', join(work.dir, 'json-save'), '--compression-level', '0'], /--compression-level/],
    [['snapshot', 'list'], /--repo is required/],
    [['snapshot', 'verify', '--repo', repo], /which snapshot/],
    [['snapshot', 'dump', 'latest'], /--repo is required/],
    [['snapshot', 'prune', '--repo', repo, '--keep-last', 'x'], /--keep-last/],
    [['snapshot', 'restore', 'latest', '--repo', repo, ...restoreFlags(dataDir), '--mark-compacted'], /--bump-revision and --mark-compacted/],
    [['drill', '--repo', repo, '--members', '0'], /--members/],
    [['get', 'k', '--endpoints', DEAD, '--limit', 'x'], /--limit/],
    [['endpoint', 'status', '--endpoints', ''], /--endpoints/],
    [['cluster', 'up', '--members', '0', '--data-root', dataRoot], /--members/],
  ], true);
});
