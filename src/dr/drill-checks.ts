// The checks a drill runs against the restored, running cluster: the state equals what the
// manifest promises (revision, key count, hashkv on every member), sampled keys read back with
// their values and revisions, a probe write is linearizably visible through another member, the
// cluster is a new one, and the user's own assertions hold.
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { LifeboatClient } from '../client/lifeboat-client.js';
import type { KeyValueRecord } from '../kv/record.js';
import type { Manifest } from '../repo/manifest.js';
import type { DrillCheck } from './drill-report.js';

/** A user assertion from --assert FILE. */
export type DrillAssertion =
  | { readonly key: string; readonly exists: boolean }
  | { readonly key: string; readonly value: string }
  | { readonly prefix: string; readonly minKeys?: number; readonly maxKeys?: number };

/** Reads and checks an --assert file: `{"assertions": [...]}` or a bare array. */
export async function readAssertions(path: string): Promise<DrillAssertion[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`--assert ${path}: ${(err as Error).message.split('\n')[0]}`, 'give a JSON file like {"assertions": [{"key": "/registry/ns/default", "exists": true}]}');
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { assertions?: unknown })?.assertions;
  if (!Array.isArray(list)) throw new UsageError(`--assert ${path}: expected an "assertions" array`, 'see the README section on drills for the format');
  return list.map((a, i) => {
    const o = a as Record<string, unknown>;
    const ok =
      (typeof o.key === 'string' && (typeof o.exists === 'boolean' || typeof o.value === 'string')) ||
      (typeof o.prefix === 'string' && (o.minKeys === undefined || typeof o.minKeys === 'number') && (o.maxKeys === undefined || typeof o.maxKeys === 'number'));
    if (!ok) throw new UsageError(`--assert ${path}: assertion ${i + 1} is not {key, exists} or {key, value} or {prefix, minKeys, maxKeys}`, 'fix the file; keys and values are UTF-8 strings');
    return o as DrillAssertion;
  });
}

/** Picks up to `count` records spread evenly over the key space as they stream past. */
export class KeySampler {
  readonly samples: KeyValueRecord[] = [];
  private seen = 0;
  private readonly stride: number;
  constructor(keyCount: number, count = 16) {
    this.stride = Math.max(1, Math.floor(keyCount / count));
  }
  add(batch: readonly KeyValueRecord[]): void {
    for (const r of batch) {
      if (this.seen % this.stride === 0) this.samples.push({ ...r, key: Buffer.from(r.key), value: Buffer.from(r.value) });
      this.seen++;
    }
  }
}

/** Everything the checks need. */
export interface CheckContext {
  readonly endpoints: readonly string[];
  readonly manifest: Manifest;
  readonly samples: readonly KeyValueRecord[];
  readonly assertions: readonly DrillAssertion[];
  readonly signal?: AbortSignal;
}

/** Runs every check, collecting results (a failing check never stops the others). */
export async function runChecks(ctx: CheckContext): Promise<DrillCheck[]> {
  const clients = ctx.endpoints.map((e) => new LifeboatClient([e], { timeoutMs: 10_000, deadlineMs: 30_000, signal: ctx.signal }));
  const checks: DrillCheck[] = [];
  const check = async (name: string, expected: unknown, measure: () => Promise<unknown>, same = (a: unknown, e: unknown) => JSON.stringify(a) === JSON.stringify(e)) => {
    const started = Date.now();
    let actual: unknown;
    let message: string | undefined;
    try {
      actual = await measure();
      if (!same(actual, expected)) message = `${name}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
    } catch (err) {
      actual = `error: ${(err as Error).message.split('\n')[0]}`;
      message = `${name}: ${actual}`;
    }
    checks.push({ name, passed: message === undefined, expected, actual, ...(message ? { message } : {}), durationMs: Date.now() - started });
  };
  const m = ctx.manifest;
  const first = clients[0]!;
  const other = clients[1] ?? first;
  try {
    await check('revision equals the manifest', m.revision, async () => (await first.range('\0', { rangeEnd: '\0', countOnly: true })).header.revision);
    await check('key count equals the manifest', m.keyCount, async () => (await first.range('\0', { rangeEnd: '\0', countOnly: true, revision: m.revision })).count);
    for (const [i, client] of clients.entries()) {
      await check(`hashkv of member ${i + 1} equals the manifest`, m.kvHash, async () => (await client.hashKV(m.revision, ctx.endpoints[i])).hash);
    }
    await check(`${ctx.samples.length} sampled keys read back with their values and revisions`, ctx.samples.length, async () => {
      let matching = 0;
      for (const s of ctx.samples) {
        const got = (await other.range(s.key, { revision: m.revision })).kvs[0];
        if (!got) throw new Error(`key ${printable(s.key)} is missing`);
        const same = got.value.equals(s.value) && got.createRevision === s.createRevision && got.modRevision === s.modRevision && got.version === s.version;
        if (!same) throw new Error(`key ${printable(s.key)} differs: rev ${got.modRevision}/${got.version}, expected ${s.modRevision}/${s.version}`);
        matching++;
      }
      return matching;
    });
    const probeKey = `/lifeboat-drill/probe-${Date.now()}`;
    await check('a probe write through one member reads back linearizably through another', 'ok', async () => {
      const put = await first.put(probeKey, 'drill');
      const got = await other.range(probeKey);
      if (got.header.revision < put.header.revision) return `read at revision ${got.header.revision} is older than the write at ${put.header.revision}`;
      return got.kvs[0]?.value.toString() === 'drill' ? 'ok' : `read back ${JSON.stringify(got.kvs[0]?.value.toString() ?? null)}`;
    });
    await check('the cluster ID differs from the source cluster', `not ${m.clusterId}`, async () => {
      const id = BigInt((await first.status(ctx.endpoints[0]!)).header.clusterId).toString(16).padStart(16, '0');
      return id === m.clusterId ? id : `not ${m.clusterId}`;
    });
    for (const a of ctx.assertions) await runAssertion(a, other, m.revision, check);
  } finally {
    for (const c of clients) c.close();
  }
  return checks;
}

type Check = (name: string, expected: unknown, measure: () => Promise<unknown>) => Promise<void>;

async function runAssertion(a: DrillAssertion, client: LifeboatClient, revision: number, check: Check): Promise<void> {
  if ('prefix' in a) {
    const min = a.minKeys ?? 0;
    const max = a.maxKeys ?? Number.MAX_SAFE_INTEGER;
    await check(`assert: prefix ${a.prefix} holds ${min}..${a.maxKeys ?? '∞'} keys`, `${min}..${a.maxKeys ?? '∞'}`, async () => {
      const n = (await client.range(a.prefix, { prefix: true, countOnly: true, revision })).count;
      return n >= min && n <= max ? `${min}..${a.maxKeys ?? '∞'}` : n;
    });
  } else if ('value' in a) {
    await check(`assert: ${a.key} equals the given value`, a.value, async () => (await client.range(a.key, { revision })).kvs[0]?.value.toString() ?? null);
  } else {
    await check(`assert: ${a.key} ${a.exists ? 'exists' : 'does not exist'}`, a.exists, async () => (await client.range(a.key, { revision })).kvs.length > 0);
  }
}

function printable(key: Buffer): string {
  const text = key.toString('utf8');
  return /^[\x20-\x7e]*$/.test(text) ? text : `base64:${key.toString('base64')}`;
}
