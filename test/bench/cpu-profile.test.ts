import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { categorize, summarizeProfile } from '../../bench/lib/cpu-profile.js';

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });

test('frames are put in the layer of the file they come from', () => {
  assert.equal(categorize(frame('step', 'file:///work/main/dist/raft/raft.js')), 'raft');
  assert.equal(categorize(frame('append', 'file:///work/main/dist/storage/wal.js')), 'storage');
  assert.equal(categorize(frame('handle', 'file:///work/main/dist/server/http-api.js')), 'server: HTTP API + JSON codec');
  assert.equal(categorize(frame('parserOnHeadersComplete', 'node:_http_common')), 'node: HTTP');
  assert.equal(categorize(frame('fdatasync', '')), 'fsync (WAL durability)');
  assert.equal(categorize(frame('parse', '')), 'JSON parse/stringify');
  assert.equal(categorize(frame('(idle)', '')), 'idle');
});

test('a native leaf is charged to its JavaScript caller, idle time is left out, and a late sample counts one interval', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-profile-test-'));
  try {
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 4] },
        { id: 2, callFrame: frame('writeSync', 'node:fs'), children: [3] },
        { id: 3, callFrame: frame('writeBuffer', ''), children: [] },
        { id: 4, callFrame: frame('(idle)', ''), children: [] },
      ],
      startTime: 0,
      endTime: 4000,
      samples: [3, 3, 4, 3],
      // The last sample came late (the thread was off the CPU): it still counts as one interval.
      timeDeltas: [1000, 1000, 1000, 50_000],
    };
    const file = join(dir, 'p.cpuprofile');
    writeFileSync(file, JSON.stringify(profile));
    const s = summarizeProfile(file);
    assert.equal(s.busyMs, 3);
    assert.deepEqual(s.categories, [{ name: 'node: fs (file I/O)', ms: 3, pctOfBusy: 100 }]);
    assert.equal(s.top[0]!.fn, 'writeBuffer <- writeSync');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
