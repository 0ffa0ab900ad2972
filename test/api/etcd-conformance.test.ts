// The conformance table (recorded from etcd 3.4.23) against Lifeboat's API over a fake member
// that runs the real MVCC store: every answer must match etcd's, up to IDs and figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHttpApi } from '../../src/server/http-api.js';
import { FakeMember } from './fake-member.js';
import { replayConformance } from './conformance-replay.js';

test('every request recorded against etcd 3.4 gets the same status and JSON from Lifeboat', async (t) => {
  const api = await startHttpApi(new FakeMember(), 'http://127.0.0.1:0');
  t.after(() => api.close());
  const { mismatches, cases } = await replayConformance(api.url);
  assert.deepStrictEqual(mismatches, [], mismatches.join('\n'));
  assert.ok(cases >= 60, 'the table holds the recorded cases');
});
