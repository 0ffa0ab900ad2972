import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import {
  computeAddedMemberId,
  computeClusterId,
  computeMemberId,
  deriveClusterIdentity,
  parseInitialCluster,
  parseMemberUrl,
} from '../../src/server/cluster-identity.js';

test('the same initial cluster and token give the same IDs on every host, whatever the URL order', () => {
  const a = deriveClusterIdentity(parseInitialCluster('n1=http://10.0.0.1:2380,n2=http://10.0.0.2:2380,n1=http://10.0.1.1:2380'), 'tok');
  const b = deriveClusterIdentity(parseInitialCluster('n2=http://10.0.0.2:2380,n1=http://10.0.1.1:2380,n1=http://10.0.0.1:2380'), 'tok');
  assert.equal(a.clusterId, b.clusterId);
  assert.match(a.clusterId, /^[0-9a-f]{16}$/);
  const idOf = (x: typeof a, name: string) => x.members.find((m) => m.name === name)!.id;
  assert.equal(idOf(a, 'n1'), idOf(b, 'n1'));
  assert.equal(idOf(a, 'n1'), computeMemberId(['http://10.0.1.1:2380', 'http://10.0.0.1:2380'], 'tok'));
  assert.equal(a.clusterId, computeClusterId([idOf(a, 'n2'), idOf(a, 'n1')], 'tok'));
});

test('a different token gives a different cluster and different member IDs', () => {
  const ic = parseInitialCluster('n1=http://10.0.0.1:2380');
  const a = deriveClusterIdentity(ic, 'one');
  const b = deriveClusterIdentity(ic, 'two');
  assert.notEqual(a.clusterId, b.clusterId);
  assert.notEqual(a.members[0]!.id, b.members[0]!.id);
});

test('a member added at different times gets different IDs', () => {
  assert.notEqual(computeAddedMemberId(['http://a:1'], 't', 1), computeAddedMemberId(['http://a:1'], 't', 2));
});

test('bad --initial-cluster entries are usage errors that name the flag', () => {
  for (const bad of ['', 'n1', '=http://a:1', 'n1=ftp://a:1', 'n1=http://a', 'n1=http://a:1/path', 'n1=http://a:1,n2=http://a:1']) {
    assert.throws(() => parseInitialCluster(bad), (e: unknown) => e instanceof UsageError && e.message.startsWith('--initial-cluster'), bad);
  }
});

test('member URLs are normalized to scheme, host and port', () => {
  assert.equal(parseMemberUrl('http://127.0.0.1:2380/', '--x'), 'http://127.0.0.1:2380');
  assert.equal(parseMemberUrl(' http://[::1]:2380 ', '--x'), 'http://[::1]:2380');
  assert.throws(() => parseMemberUrl('https://a:1', '--x'), UsageError);
});
