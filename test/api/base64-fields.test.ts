import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../src/storage/faulty-file-system.js';
import { decodeBase64 } from '../../src/server/http-json.js';

// The rules jsonpb applies to a bytes field, spelt the slow, obvious way: one alphabet (standard or
// URL-safe) with at most two '=' at the end, a length that is a multiple of four, line breaks ignored.
const STD = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_SAFE = /^[A-Za-z0-9_-]*={0,2}$/;
function reference(text: string): Buffer | 'refused' {
  const clean = text.replace(/[\r\n]/g, '');
  if (clean.length === 0) return Buffer.alloc(0);
  if (clean.length % 4 !== 0) return 'refused';
  if (STD.test(clean)) return Buffer.from(clean, 'base64');
  if (URL_SAFE.test(clean)) return Buffer.from(clean, 'base64url');
  return 'refused';
}

function agrees(text: string): void {
  let got: Buffer | 'refused';
  try {
    got = decodeBase64(text);
  } catch (err) {
    assert.match((err as Error).message, /^illegal base64 data at input byte \d+$/);
    got = 'refused';
  }
  const want = reference(text);
  if (want === 'refused' || got === 'refused') assert.equal(got, want, `for ${JSON.stringify(text)}`);
  else assert.ok(got.equals(want), `for ${JSON.stringify(text)}`);
}

test('bytes fields accept and refuse exactly what the strict base64 rules say, for every short text over a tricky alphabet', () => {
  const alphabet = 'AQ+/-_=*\n. ';
  const visit = (prefix: string, depth: number): void => {
    agrees(prefix);
    if (depth > 0) for (const c of alphabet) visit(prefix + c, depth - 1);
  };
  visit('', 4);
});

test('bytes fields decode long values of either alphabet and refuse them once one character is wrong', () => {
  const random = mulberry32(7);
  for (let i = 0; i < 2000; i++) {
    const data = Buffer.from(Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256)));
    for (const text of [data.toString('base64'), data.toString('base64url')]) {
      agrees(text);
      if (text.length === 0) continue;
      const at = Math.floor(random() * text.length);
      for (const bad of ['*', '=', ' ', text.includes('-') || text.includes('_') ? '+' : '_']) agrees(text.slice(0, at) + bad + text.slice(at + 1));
    }
  }
});
