#!/usr/bin/env node
// Records what a real etcd 3.4 JSON gateway answers to a fixed sequence of requests, so the
// conformance test can hold Lifeboat's API to the same shapes. Run against a FRESH single-member
// etcd (revision 1, nothing written):
//   etcd --data-dir $(mktemp -d) --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
//        --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 --initial-cluster default=http://127.0.0.1:23800
//   node test/api/record-etcd-conformance.mjs http://127.0.0.1:23790 > test/api/etcd-conformance.json
// The cases run in order and build on each other's state (revisions are part of the expectation).
const endpoint = process.argv[2] ?? 'http://127.0.0.1:23790';
const b = (s) => Buffer.from(s).toString('base64');
const j = (o) => JSON.stringify(o);

/** [name, path, body as sent (raw text, so malformed bodies can be expressed)] */
const cases = [
  ['put a new key', '/v3/kv/put', j({ key: b('foo'), value: b('bar') })],
  ['put again returns the previous pair when prev_kv is set', '/v3/kv/put', j({ key: b('foo'), value: b('bar2'), prev_kv: true })],
  ['put a key with an empty value', '/v3/kv/put', j({ key: b('empty'), value: '' })],
  ['put binary key and value', '/v3/kv/put', j({ key: Buffer.from([0, 255, 1]).toString('base64'), value: Buffer.from([9, 0, 9]).toString('base64') })],
  ['put prefix keys a', '/v3/kv/put', j({ key: b('p/a'), value: b('1') })],
  ['put prefix keys b', '/v3/kv/put', j({ key: b('p/b'), value: b('2') })],
  ['put prefix keys c', '/v3/kv/put', j({ key: b('p/c'), value: b('3') })],
  ['range a single key', '/v3/kv/range', j({ key: b('foo') })],
  ['range a missing key omits kvs and count', '/v3/kv/range', j({ key: b('missing') })],
  ['range a key with an empty value omits value', '/v3/kv/range', j({ key: b('empty') })],
  ['range a prefix', '/v3/kv/range', j({ key: b('p/'), range_end: b('p0') })],
  ['range a prefix with a limit sets more', '/v3/kv/range', j({ key: b('p/'), range_end: b('p0'), limit: 2 })],
  ['range a limit given as a string', '/v3/kv/range', j({ key: b('p/'), range_end: b('p0'), limit: '1' })],
  ['range count only', '/v3/kv/range', j({ key: b('p/'), range_end: b('p0'), count_only: true })],
  ['range keys only', '/v3/kv/range', j({ key: b('p/'), range_end: b('p0'), keys_only: true })],
  ['range every key from a key with range_end zero byte', '/v3/kv/range', j({ key: b('p/b'), range_end: 'AA==' })],
  ['range all keys', '/v3/kv/range', j({ key: 'AA==', range_end: 'AA==' })],
  ['range a past revision', '/v3/kv/range', j({ key: b('foo'), revision: '2' })],
  ['range a past revision given as a number', '/v3/kv/range', j({ key: b('foo'), revision: 2 })],
  ['range before the key existed', '/v3/kv/range', j({ key: b('foo'), revision: '1' })],
  ['range serializable', '/v3/kv/range', j({ key: b('foo'), serializable: true })],
  ['range a future revision', '/v3/kv/range', j({ key: b('foo'), revision: '1000' })],
  ['range with an unknown field', '/v3/kv/range', j({ key: b('foo'), no_such_field: 1 })],
  ['range with an empty key', '/v3/kv/range', j({})],
  ['range with bad base64', '/v3/kv/range', j({ key: '!!!' })],
  ['range with malformed JSON', '/v3/kv/range', '{"key": "Zm9v"'],
  ['range with a body that is not an object', '/v3/kv/range', '[1,2]'],
  ['range with a wrongly typed field', '/v3/kv/range', j({ key: b('foo'), limit: 'many' })],
  ['range with an empty body', '/v3/kv/range', ''],
  ['range with camelCase field names', '/v3/kv/range', j({ key: b('p/'), rangeEnd: b('p0'), keysOnly: true })],
  ['range with a null field', '/v3/kv/range', j({ key: b('foo'), limit: null })],
  ['range with a boolean given as a string', '/v3/kv/range', j({ key: b('foo'), keys_only: 'true' })],
  ['range with a fractional limit', '/v3/kv/range', j({ key: b('foo'), limit: 1.5 })],
  ['range with base64 missing its padding', '/v3/kv/range', j({ key: 'Zm8' })],
  ['range sorted descending by key', '/v3/kv/range', j({ key: b('p/'), range_end: b('p0'), sort_order: 'DESCEND' })],
  ['range sorted by mod revision with enums as numbers', '/v3/kv/range', j({ key: 'AA==', range_end: 'AA==', sort_order: 2, sort_target: 3, keys_only: true })],
  ['put with an empty key', '/v3/kv/put', j({ value: b('x') })],
  ['put with ignore_value on a missing key', '/v3/kv/put', j({ key: b('nokey'), ignore_value: true })],
  ['put with ignore_value on an existing key', '/v3/kv/put', j({ key: b('foo'), ignore_value: true, prev_kv: true })],
  ['delete a missing key', '/v3/kv/deleterange', j({ key: b('missing') })],
  ['delete a key', '/v3/kv/deleterange', j({ key: b('empty') })],
  ['delete a prefix with prev_kv', '/v3/kv/deleterange', j({ key: b('p/'), range_end: b('p0'), prev_kv: true })],
  ['delete with an empty key', '/v3/kv/deleterange', j({})],
  ['txn whose compare succeeds', '/v3/kv/txn', j({
    compare: [{ key: b('foo'), target: 'VALUE', result: 'EQUAL', value: b('bar2') }],
    success: [{ request_put: { key: b('t1'), value: b('v1') } }, { request_range: { key: b('foo') } }],
    failure: [{ request_put: { key: b('t1'), value: b('no') } }],
  })],
  ['txn whose compare fails', '/v3/kv/txn', j({
    compare: [{ key: b('foo'), target: 'VERSION', result: 'GREATER', version: '10' }],
    success: [{ request_put: { key: b('t2'), value: b('v2') } }],
    failure: [{ request_delete_range: { key: b('t1'), prev_kv: true } }, { request_range: { key: b('t1') } }],
  })],
  ['txn comparing create revision zero of a missing key', '/v3/kv/txn', j({
    compare: [{ key: b('lock'), target: 'CREATE', result: 'EQUAL', create_revision: '0' }],
    success: [{ request_put: { key: b('lock'), value: b('me') } }],
  })],
  ['txn comparing mod revision with LESS', '/v3/kv/txn', j({
    compare: [{ key: b('lock'), target: 'MOD', result: 'LESS', mod_revision: '1000' }],
    success: [{ request_range: { key: b('lock') } }],
  })],
  ['txn with no compares and no ops', '/v3/kv/txn', j({})],
  ['txn that puts the same key twice', '/v3/kv/txn', j({
    success: [{ request_put: { key: b('d'), value: b('1') } }, { request_put: { key: b('d'), value: b('2') } }],
  })],
  ['txn with an unknown compare target', '/v3/kv/txn', j({ compare: [{ key: b('foo'), target: 'COLOR', result: 'EQUAL' }] })],
  ['compact to the current revision minus some', '/v3/kv/compaction', j({ revision: '4' })],
  ['range a compacted revision', '/v3/kv/range', j({ key: b('foo'), revision: '3' })],
  ['range at the compacted revision itself', '/v3/kv/range', j({ key: b('foo'), revision: '4' })],
  ['compact again to an old revision', '/v3/kv/compaction', j({ revision: '2' })],
  ['compact to a future revision', '/v3/kv/compaction', j({ revision: '1000' })],
  ['member list', '/v3/cluster/member/list', j({})],
  ['member remove of an unknown member', '/v3/cluster/member/remove', j({ ID: '5' })],
  ['member promote of an unknown member', '/v3/cluster/member/promote', j({ ID: '5' })],
  ['member add with a bad peer URL', '/v3/cluster/member/add', j({ peerURLs: ['not a url'] })],
  ['member add with no peer URLs', '/v3/cluster/member/add', j({})],
  ['member add of a learner', '/v3/cluster/member/add', j({ peerURLs: ['http://127.0.0.1:23805'], isLearner: true })],
  ['member add of a peer URL that already exists', '/v3/cluster/member/add', j({ peerURLs: ['http://127.0.0.1:23805'] })],
  ['member list with a learner that has not started', '/v3/cluster/member/list', j({})],
  ['member promote of a learner that is not in sync', '/v3/cluster/member/promote', j({ ID: '$LEARNER' })],
  ['member remove of the learner', '/v3/cluster/member/remove', j({ ID: '$LEARNER' })],
  ['member remove of a member already removed', '/v3/cluster/member/remove', j({ ID: '$LEARNER' })],
  ['member remove with an ID that is not a number', '/v3/cluster/member/remove', j({ ID: 'abc' })],
  ['put with a lease that does not exist', '/v3/kv/put', j({ key: b('foo'), value: b('x'), lease: '5' })],
  ['status', '/v3/maintenance/status', j({})],
  ['hash', '/v3/maintenance/hash', j({})],
  ['an unknown path', '/v3/kv/nothing', j({})],
  ['member promote of a voting member', '/v3/cluster/member/promote', j({ ID: '$SELF' })],
  ['txn with a nested txn', '/v3/kv/txn', j({
    success: [{ request_txn: { compare: [{ key: b('lock'), target: 'VALUE', result: 'EQUAL', value: b('me') }], success: [{ request_put: { key: b('n1'), value: b('x') } }] } }],
  })],
  ['txn comparing over a range', '/v3/kv/txn', j({
    compare: [{ key: b('n'), range_end: b('o'), target: 'VERSION', result: 'GREATER', version: '0' }],
    success: [{ request_range: { key: b('n'), range_end: b('o'), count_only: true } }],
  })],
  ['range filtered by min_mod_revision', '/v3/kv/range', j({ key: 'AA==', range_end: 'AA==', min_mod_revision: '14', keys_only: true })],
  ['delete from a key to the end when nothing is there', '/v3/kv/deleterange', j({ key: b('zzz'), range_end: 'AA==' })],
  ['put with ignore_lease on a missing key', '/v3/kv/put', j({ key: b('nokey2'), value: b('v'), ignore_lease: true })],
  ['put with ignore_value and a value', '/v3/kv/put', j({ key: b('foo'), value: b('v'), ignore_value: true })],
];

const results = [];
let learner = '';
let self = '';
for (const [name, path, rawBody] of cases) {
  // The learner's ID is chosen by the server; later cases refer to it as $LEARNER.
  const body = rawBody.replace('$LEARNER', learner).replace('$SELF', self);
  const res = await fetch(endpoint + path, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  if (json?.member?.ID && !learner) learner = json.member.ID;
  if (json?.header?.member_id && !self) self = json.header.member_id;
  results.push({ name, path, body: rawBody, status: res.status, response: json ?? text });
}
// An oversized body and a GET are recorded separately: their bodies are generated, not stored.
{
  const value = Buffer.alloc(1_600_000, 7).toString('base64');
  const res = await fetch(endpoint + '/v3/kv/put', { method: 'POST', body: j({ key: b('big'), value }) });
  const text = await res.text();
  let json; try { json = JSON.parse(text); } catch { json = undefined; }
  results.push({ name: 'put an oversized value', path: '/v3/kv/put', body: null, generate: { oversizedValueBytes: 1_600_000 }, status: res.status, response: json ?? text });
}
{
  const res = await fetch(endpoint + '/v3/kv/range', { method: 'GET' });
  const text = await res.text();
  results.push({ name: 'a GET on a POST path', path: '/v3/kv/range', method: 'GET', body: null, status: res.status, response: text });
}
process.stdout.write(JSON.stringify({
  recordedFrom: 'etcd 3.4.23 (Debian etcd-server), single member, fresh data dir',
  cases: results,
}, null, 1) + '\n');
