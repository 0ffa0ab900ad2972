// Picks the Repository implementation from the --repo URL. The S3 implementation (and the AWS
// SDK behind it, about 25 MiB of memory and a noticeable start-up cost) is loaded only when an
// s3:// repository is actually used, so a local save stays small.
import type { Readable } from 'node:stream';
import { UsageError } from '../errors.js';
import { LocalRepository } from './local-repository.js';
import type { ObjectInfo, Repository, WriteOptions } from './repository.js';
import type { S3RepositoryOptions } from './s3-repository.js';

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
    return new LazyS3Repository(text, s3Options);
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

/** An S3Repository built on first use; its constructor's usage errors surface on that first call. */
export class LazyS3Repository implements Repository {
  readonly url: string;
  private target: Promise<Repository> | undefined;

  constructor(url: string, private readonly options: S3RepositoryOptions) {
    this.url = url.replace(/\/+$/, '');
  }

  /** The real S3Repository (loads the AWS SDK once). */
  resolve(): Promise<Repository> {
    this.target ??= import('./s3-repository.js').then(({ S3Repository }) => new S3Repository(this.url, this.options));
    return this.target;
  }

  async ensureInitialized(): Promise<void> { return (await this.resolve()).ensureInitialized(); }
  async checkInitialized(): Promise<void> { return (await this.resolve()).checkInitialized(); }
  async list(prefix: string): Promise<ObjectInfo[]> { return (await this.resolve()).list(prefix); }
  async stat(key: string): Promise<ObjectInfo | undefined> { return (await this.resolve()).stat(key); }
  async read(key: string): Promise<Readable> { return (await this.resolve()).read(key); }
  async readSmall(key: string): Promise<Buffer> { return (await this.resolve()).readSmall(key); }
  async writeStream(key: string, body: Readable, options?: WriteOptions): Promise<{ bytes: number }> { return (await this.resolve()).writeStream(key, body, options); }
  async writeSmall(key: string, data: Buffer): Promise<void> { return (await this.resolve()).writeSmall(key, data); }
  async createExclusive(key: string, data: Buffer): Promise<boolean> { return (await this.resolve()).createExclusive(key, data); }
  async delete(key: string): Promise<void> { return (await this.resolve()).delete(key); }
  async compareAndDelete(key: string, expected: Buffer): Promise<boolean> { return (await this.resolve()).compareAndDelete(key, expected); }
  async cleanupIncomplete(olderThan: Date): Promise<number> { return (await this.resolve()).cleanupIncomplete(olderThan); }
}
