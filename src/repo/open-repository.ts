// Picks the Repository implementation from the --repo URL.
import { UsageError } from '../errors.js';
import { LocalRepository } from './local-repository.js';
import type { Repository } from './repository.js';
import { S3Repository, type S3RepositoryOptions } from './s3-repository.js';

/** `/path`, `./path` or `file:///path` -> local; `s3://bucket/prefix` -> S3; anything else -> UsageError. */
export function openRepository(url: string, s3Options: S3RepositoryOptions = {}): Repository {
  const text = url.trim();
  if (text === '') {
    throw new UsageError('--repo is empty', 'pass --repo /path/to/dir or --repo s3://bucket/prefix (or set LIFEBOAT_REPO)');
  }
  if (/^s3:\/\//i.test(text)) {
    if (!/^s3:\/\/[^/]+/i.test(text)) {
      throw new UsageError(`--repo ${text} names no bucket`, 'use --repo s3://bucket or s3://bucket/prefix');
    }
    return new S3Repository(text, s3Options);
  }
  if (text.startsWith('file://')) {
    if (!text.startsWith('file:///')) {
      throw new UsageError(`--repo ${text} is not a local file URL`, 'use file:///absolute/path (three slashes) or a plain path');
    }
    return new LocalRepository(text);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new UsageError(`--repo ${text} uses an unsupported scheme`, 'use a directory path, file:///path or s3://bucket/prefix');
  }
  return new LocalRepository(text);
}
