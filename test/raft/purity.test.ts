import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MemoryStorage, RawNode } from '../../src/raft/index.js';

const dir = join(import.meta.dirname, '../../src/raft');

test('the raft core reads no clock, draws no randomness, sets no timers and imports nothing outside src/raft', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 5);
  const forbidden = /Math\.random|Date\.now|new Date\(|setTimeout|setInterval|performance\.now|from 'node:|Buffer\b|process\./;
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    const code = text
      .split('\n')
      .filter((l) => !l.trimStart().startsWith('//') && !l.trimStart().startsWith('*'))
      .join('\n');
    assert.doesNotMatch(code, forbidden, f);
    for (const m of code.matchAll(/from '([^']+)'/g)) assert.match(m[1]!, /^\.\/[a-z-]+\.js$/, `${f} imports ${m[1]}`);
  }
});

test('a member refuses a configuration that could never work', () => {
  const storage = new MemoryStorage();
  const base = { id: 'a', storage, electionTick: 10, heartbeatTick: 1, randomInt: () => 0 };
  assert.throws(() => new RawNode({ ...base, id: '' }), /empty node ID/);
  assert.throws(() => new RawNode({ ...base, heartbeatTick: 0 }), /heartbeat/);
  assert.throws(() => new RawNode({ ...base, electionTick: 1 }), /election tick/);
  assert.throws(() => new RawNode({ ...base, maxInflightMsgs: 0 }), /inflight/);
  assert.throws(() => new RawNode(base).readIndex(''), /non-empty context/);
});
