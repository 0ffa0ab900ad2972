// What every CLI failure and every --json run must look like, checked the same way for every
// command: the exit code, exactly one `lifeboat:` line followed by one `hint:` line on stderr,
// nothing else on stderr that looks like an error or a Node warning, and stdout that is exactly
// one JSON document with the expected schema.
import assert from 'node:assert/strict';
import { saveFromStream } from '../../src/dr/save.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { snapshotStream } from '../archive/helpers.js';
import type { CliResult } from '../archive/cli.js';

/** Environment for runs against a fake S3 endpoint: dummy credentials, no instance-metadata lookups. */
export const FAKE_AWS_ENV: Record<string, string | undefined> = {
  AWS_ACCESS_KEY_ID: 'lifeboat-test',
  AWS_SECRET_ACCESS_KEY: 'lifeboat-test-secret',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_PROFILE: undefined,
  // The CLI must silence the SDK's Node-version warning itself, so the test never does.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
};

/** Lines that would make an operator (or a log alert) think something went wrong. */
const ALARMING = /\(node:\d+\)|Warning|^\s+at |^(Type|Reference|Range|Syntax)?Error\b|Unhandled|triggerUncaughtException|^lifeboat: |^hint: /;

function stderrLines(r: CliResult): string[] {
  return r.stderr.split('\n').filter((l) => l.trim() !== '');
}

/** Describes a run for assertion messages. */
export function show(what: string, r: CliResult): string {
  return `${what}: exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/**
 * Asserts a failure: the exit code, one `lifeboat:` line matching `message` directly followed
 * by one `hint:` line matching `hint`, and no other alarming line on stderr.
 */
export function assertFailure(what: string, r: CliResult, code: number, message: RegExp, hint: RegExp = /./): void {
  assert.equal(r.code, code, show(what, r));
  const lines = stderrLines(r);
  const errors = lines.filter((l) => l.startsWith('lifeboat: '));
  const hints = lines.filter((l) => l.startsWith('hint: '));
  assert.equal(errors.length, 1, `${what}: exactly one lifeboat: line\n${r.stderr}`);
  assert.equal(hints.length, 1, `${what}: exactly one hint: line\n${r.stderr}`);
  const at = lines.indexOf(errors[0]!);
  assert.equal(lines[at + 1], hints[0], `${what}: the hint follows the error line\n${r.stderr}`);
  assert.match(errors[0]!.slice('lifeboat: '.length), message, what);
  assert.match(hints[0]!.slice('hint: '.length), hint, what);
  assert.ok(hints[0]!.length > 'hint: '.length + 10, `${what}: the hint says something`);
  const others = lines.filter((_, i) => i !== at && i !== at + 1);
  assert.deepEqual(others.filter((l) => ALARMING.test(l)), [], `${what}: nothing else on stderr looks like an error\n${r.stderr}`);
}

/** Asserts a success: exit 0 and nothing on stderr that looks like an error or a warning. */
export function assertSuccess(what: string, r: CliResult): void {
  assert.equal(r.code, 0, show(what, r));
  assert.deepEqual(stderrLines(r).filter((l) => ALARMING.test(l)), [], `${what}: nothing on stderr looks like an error\n${r.stderr}`);
}

/** Parses stdout as exactly one JSON document with the given schema and returns it. */
export function singleJson(what: string, r: CliResult, schema: string): Record<string, any> {
  let doc: unknown;
  try {
    // JSON.parse rejects a second document or any stray text around the first.
    doc = JSON.parse(r.stdout);
  } catch (err) {
    assert.fail(`${what}: stdout is not exactly one JSON document (${(err as Error).message})\n${show(what, r)}`);
  }
  assert.ok(doc !== null && typeof doc === 'object' && !Array.isArray(doc), `${what}: the document is an object`);
  assert.equal((doc as { schema?: unknown }).schema, schema, show(what, r));
  return doc as Record<string, any>;
}

/** Asserts a --json failure: the failure lines on stderr and the lifeboat.error/v1 document on stdout. */
export function assertJsonFailure(what: string, r: CliResult, code: number, message: RegExp): Record<string, any> {
  assertFailure(what, r, code, message);
  const doc = singleJson(what, r, 'lifeboat.error/v1');
  assert.equal(doc.exitCode, code, what);
  assert.match(doc.error, message, what);
  assert.equal(typeof doc.hint, 'string', what);
  assert.equal(`hint: ${doc.hint}`, stderrLines(r).find((l) => l.startsWith('hint: ')), `${what}: the document carries the same hint`);
  return doc;
}

/** A local repository at `dir` holding `count` tiny snapshots (50 keys each), newest last. */
export async function tinyRepository(dir: string, count = 1): Promise<{ repo: LocalRepository; ids: string[] }> {
  const repo = new LocalRepository(dir);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const created = new Date(Date.UTC(2026, 0, 1, i, 0, 0));
    const { manifest } = await saveFromStream(snapshotStream(50, 100 + i), { repo, consistency: 'linearizable', source: 'test', now: () => created });
    ids.push(manifest.id);
  }
  return { repo, ids };
}
