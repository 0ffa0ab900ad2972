// Placeholder until the S3 engineer lands the S3 repository; the shape below is the contract.
import type { Readable } from 'node:stream';
import { StorageUnavailableError } from '../errors.js';
import type { ObjectInfo, Repository, WriteOptions } from './repository.js';

/** Everything an s3:// repository needs besides its URL. Credentials come from the AWS chain only. */
export interface S3RepositoryOptions {
  readonly endpoint?: string;
  readonly region?: string;
  readonly forcePathStyle?: boolean;
  readonly sse?: 'AES256' | 'aws:kms';
  readonly kmsKeyId?: string;
  readonly storageClass?: string;
  readonly partSizeBytes?: number;
  readonly queueSize?: number;
}

/** An s3://bucket/prefix repository. */
export class S3Repository implements Repository {
  readonly url: string;
  constructor(url: string, _options: S3RepositoryOptions = {}) {
    this.url = url;
  }
  private unavailable(): never {
    throw new StorageUnavailableError(`S3 repositories are not available in this build: ${this.url}`, 'use a local directory repository');
  }
  ensureInitialized(): Promise<void> { return this.unavailable(); }
  checkInitialized(): Promise<void> { return this.unavailable(); }
  list(_prefix: string): Promise<ObjectInfo[]> { return this.unavailable(); }
  stat(_key: string): Promise<ObjectInfo | undefined> { return this.unavailable(); }
  read(_key: string): Promise<Readable> { return this.unavailable(); }
  readSmall(_key: string): Promise<Buffer> { return this.unavailable(); }
  writeStream(_key: string, _body: Readable, _options?: WriteOptions): Promise<{ bytes: number }> { return this.unavailable(); }
  writeSmall(_key: string, _data: Buffer): Promise<void> { return this.unavailable(); }
  createExclusive(_key: string, _data: Buffer): Promise<boolean> { return this.unavailable(); }
  delete(_key: string): Promise<void> { return this.unavailable(); }
  cleanupIncomplete(_olderThan: Date): Promise<number> { return this.unavailable(); }
}
