import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { LifeboatError } from '../../src/errors.js';

test('a repository path that cannot be created fails promptly instead of hanging', { timeout: 30_000 }, async () => {
  // Node 20's recursive mkdir never returns for paths under /proc; a cron job must fail, not hang.
  const repo = new LocalRepository('/proc/lifeboat-no-such-repository/deeper');
  await assert.rejects(repo.ensureInitialized(), (err: unknown) => err instanceof LifeboatError && err.hint.length > 0);
});
