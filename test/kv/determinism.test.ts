import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore } from '../../src/kv/mvcc-store.js';
import { decodeRequest, encodeRequest } from '../../src/kv/request-codec.js';
import type { KvRequest, KvResponse } from '../../src/kv/requests.js';
import { b, plain } from './helpers.js';
import { generator } from './request-generator.js';

function outcome(store: MvccStore, request: KvRequest): KvResponse | { error: string; name: string } {
  try {
    return store.apply(request);
  } catch (err) {
    return { error: (err as Error).message, name: (err as Error).name };
  }
}

test('two members applying the same encoded entries give the same responses, errors and state', () => {
  const gen = generator(4242, 12);
  const a = new MvccStore();
  const c = new MvccStore();
  let errors = 0;
  let writes = 0;
  for (let i = 0; i < 3000; i++) {
    let request = gen.request();
    // Keep some compactions valid: the generator's revisions are mostly far in the future.
    if (i % 97 === 0 && a.revision > 10) request = { kind: 'compaction', revision: a.revision - 5 };
    const entry = encodeRequest(BigInt(i), request);
    const ra = outcome(a, decodeRequest(entry).request);
    const rc = outcome(c, decodeRequest(entry).request);
    assert.deepEqual(ra, rc, `entry ${i} (${request.kind})`);
    if ('error' in ra) errors++;
    else writes++;
  }
  assert.ok(errors > 0 && writes > 0, `the mix should hold both failures (${errors}) and successes (${writes})`);
  assert.ok(a.revision > 100, `revision ${a.revision} should have moved`);
  assert.deepEqual(a.stats(), c.stats());
  assert.deepEqual(a.hashKV(), c.hashKV());
  assert.deepEqual(plain(a.range({ kind: 'range', key: b('\0'), rangeEnd: b('\0') }).kvs), plain(c.range({ kind: 'range', key: b('\0'), rangeEnd: b('\0') }).kvs));
  const view = a.openReadView();
  const restored = MvccStore.fromRecordsSync(view.next(1e6), { revision: a.revision, compactRevision: a.compactRevision });
  view.close();
  assert.equal(restored.hashKV().hash, a.hashKV().hash);
});
