// Replays the requests recorded against a real etcd 3.4.23 (etcd-conformance.json, made by
// record-etcd-conformance.mjs) against a Lifeboat API URL and lists every answer that differs,
// after normalizing what legitimately differs: cluster and member IDs, raft terms, status
// figures, hash values (and, for a real member, its name and URLs).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface RecordedCase {
  name: string;
  path: string;
  body: string | null;
  method?: string;
  generate?: { oversizedValueBytes: number };
  status: number;
  response: unknown;
}

const table = JSON.parse(readFileSync(fileURLToPath(new URL('./etcd-conformance.json', import.meta.url)), 'utf8')) as { cases: RecordedCase[] };

export const ID_FIELDS = new Set(['cluster_id', 'member_id', 'ID', 'leader']);
const STATUS_FIGURES = new Set(['version', 'dbSize', 'dbSizeInUse', 'raftIndex', 'raftAppliedIndex', 'raftTerm']);

function normalize(value: unknown, caseName: string, extra: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => normalize(v, caseName, extra));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (ID_FIELDS.has(k)) out[k] = '<id>';
      else if (extra.has(k)) out[k] = '<normalized>';
      else if (k === 'raft_term') out[k] = '<term>';
      else if (caseName === 'status' && STATUS_FIGURES.has(k)) out[k] = '<figure>';
      else if (k === 'hash') out[k] = typeof v === 'number' ? '<uint32>' : v;
      // Both sort members by ID, and IDs differ, so the order is compared as a set.
      else if (k === 'members' && Array.isArray(v)) out[k] = v.map((m) => normalize(m, caseName, extra)).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
      else out[k] = normalize(v, caseName, extra);
    }
    return out;
  }
  return value;
}

/**
 * Where Lifeboat answers differently on purpose. etcd's gateway ignores unknown fields; PRODUCT.md
 * and issue #4 ask for a 400, because a misspelt field silently dropped changes what a request does.
 */
export const DEVIATIONS: Record<string, (status: number, body: any) => void> = {
  'range with an unknown field': (status, body) => {
    assert.equal(status, 400);
    assert.equal(body.code, 3);
    assert.equal(body.error, 'unknown field "no_such_field" in etcdserverpb.RangeRequest');
    assert.equal(body.message, body.error);
  },
};


/** Replays every recorded case in order against `url`; returns one line per mismatch. */
export async function replayConformance(url: string, options: { normalizeAlso?: string[] } = {}): Promise<{ mismatches: string[]; cases: number }> {
  const extra = new Set(options.normalizeAlso ?? []);
  let learner = '';
  let self = '';
  const mismatches: string[] = [];
  for (const c of table.cases) {
    let body: string | undefined = c.body ?? undefined;
    if (c.generate) {
      body = JSON.stringify({ key: 'Ymln', value: Buffer.alloc(c.generate.oversizedValueBytes, 7).toString('base64') });
    }
    if (body) body = body.replace('$LEARNER', learner).replace('$SELF', self);
    const res = await fetch(url + c.path, { method: c.method ?? 'POST', body });
    const text = await res.text();
    let actual: unknown = text;
    try {
      actual = JSON.parse(text);
    } catch {
      // plain-text answers (404, 405) are compared as text
    }
    const got = actual as { member?: { ID?: string } };
    if (got?.member?.ID && !learner) learner = got.member.ID;
    const header = (actual as { header?: { member_id?: string } })?.header;
    if (header?.member_id && !self) self = header.member_id;
    try {
      const deviation = DEVIATIONS[c.name];
      if (deviation) {
        deviation(res.status, actual);
        continue;
      }
      assert.equal(res.status, c.status, 'status');
      assert.deepStrictEqual(normalize(actual, c.name, extra), normalize(c.response, c.name, extra));
    } catch {
      mismatches.push(`${c.name}: expected ${c.status} ${JSON.stringify(c.response)}\n   got ${res.status} ${text}`);
    }
  }
  return { mismatches, cases: table.cases.length };
}
