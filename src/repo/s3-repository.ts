// An s3://bucket/prefix repository on AWS S3 or an S3-compatible store (MinIO, Ceph, R2,
// Backblaze, s3rver). Same layout and guarantees as a local directory: archives are streamed
// as multipart uploads in bounded memory and aborted on failure, so an object appears whole or
// not at all; Lifeboat's own SHA-256 guards integrity, never the provider's checksums.
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NotFoundError, StorageUnavailableError, UsageError } from '../errors.js';
import { checkMarker, MARKER_KEY, newMarker } from './repo-marker.js';
import type { ObjectInfo, Repository, WriteOptions } from './repository.js';
import { describeS3Error, isNotFound, toRepositoryError } from './s3-errors.js';

/** Everything an s3:// repository needs besides its URL. Credentials come from the AWS chain only. */
export interface S3RepositoryOptions {
  readonly endpoint?: string;
  readonly region?: string;
  readonly forcePathStyle?: boolean;
  readonly sse?: 'AES256' | 'aws:kms';
  readonly kmsKeyId?: string;
  readonly storageClass?: string;
  /** Multipart part size; memory held by an upload is about partSizeBytes x queueSize. */
  readonly partSizeBytes?: number;
  readonly queueSize?: number;
  /** Attempts per request, with the SDK's backoff on throttling, 5xx and connection resets. */
  readonly maxAttempts?: number;
  /**
   * How long a small request (list page, stat, small read or write, delete) may take, retries
   * included, before it fails as unreachable (default 60 s). Streams are bounded by the idle
   * socket timeout instead, since a large archive may rightly take hours.
   */
  readonly requestBudgetMs?: number;
}

const DEFAULT_REQUEST_BUDGET_MS = 60_000;
/** No byte in either direction for this long and the attempt is dead (AWS keeps slow answers alive with whitespace). */
const SOCKET_IDLE_TIMEOUT_MS = 20_000;

const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const DEFAULT_QUEUE_SIZE = 4;

/** Splits s3://bucket/some/prefix into bucket and prefix (without slashes at its ends). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  const bucket = match?.[1];
  if (!match || !bucket || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new UsageError(`--repo: "${url}" is not a valid s3://bucket/prefix URL`, 'use for example --repo s3://my-backups/etcd/prod');
  }
  return { bucket, prefix: match[2]!.replace(/^\/+|\/+$/g, '') };
}

/** An s3://bucket/prefix repository. */
export class S3Repository implements Repository {
  readonly url: string;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly client: S3Client;
  private readonly options: S3RepositoryOptions;

  constructor(url: string, options: S3RepositoryOptions = {}) {
    const { bucket, prefix } = parseS3Url(url);
    this.url = `s3://${bucket}${prefix ? '/' + prefix : ''}`;
    this.bucket = bucket;
    this.prefix = prefix;
    this.options = options;
    if (options.kmsKeyId && options.sse !== 'aws:kms') {
      throw new UsageError('--s3-kms-key-id needs --s3-sse aws:kms', 'add --s3-sse aws:kms, or drop --s3-kms-key-id');
    }
    const config: S3ClientConfig = {
      region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      maxAttempts: options.maxAttempts ?? 5,
      retryMode: 'standard',
      requestHandler: { connectionTimeout: 5_000, socketTimeout: SOCKET_IDLE_TIMEOUT_MS },
    };
    if (options.endpoint) {
      config.endpoint = options.endpoint;
      config.forcePathStyle = options.forcePathStyle ?? true;
      // S3-compatible servers corrupt or refuse the SDK's newer default checksums (measured:
      // s3rver stores the aws-chunked framing inside the object and answers 200).
      config.requestChecksumCalculation = 'WHEN_REQUIRED';
      config.responseChecksumValidation = 'WHEN_REQUIRED';
    } else if (options.forcePathStyle !== undefined) {
      config.forcePathStyle = options.forcePathStyle;
    }
    this.client = new S3Client(config);
  }

  private objectKey(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private relativeKey(objectKey: string): string {
    return this.prefix ? objectKey.slice(this.prefix.length + 1) : objectKey;
  }

  private where(): string {
    return this.options.endpoint ? `${this.url} at ${this.options.endpoint}` : this.url;
  }

  private fail(err: unknown, action: string): never {
    const name = (err as { name?: string } | undefined)?.name;
    if (name === 'AbortError' || name === 'TimeoutError') {
      throw new StorageUnavailableError(
        `${action} ${this.where()}: no answer within ${Math.round(this.budgetMs() / 1000)} s, retries included`,
        'the S3 endpoint accepts connections but does not answer; check --s3-endpoint and the service status, then run again',
        { cause: err },
      );
    }
    throw toRepositoryError(err, `${action} ${this.where()}`);
  }

  private budgetMs(): number {
    return this.options.requestBudgetMs ?? DEFAULT_REQUEST_BUDGET_MS;
  }

  /** Send options for a small request: bounded in time as a whole (every attempt and backoff included). */
  private small(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.budgetMs()) };
  }

  async ensureInitialized(): Promise<void> {
    try {
      const existing = await this.stat(MARKER_KEY);
      if (existing) {
        checkMarker(await this.readSmall(MARKER_KEY), this.url);
        return;
      }
      await this.putSmall(MARKER_KEY, newMarker());
    } catch (err) {
      this.fail(err, 'cannot initialize repository');
    }
  }

  async checkInitialized(): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await this.readSmall(MARKER_KEY);
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new NotFoundError(`no Lifeboat repository at ${this.url}`, 'check --repo; `lifeboat snapshot save` creates a repository on first use');
      }
      throw err;
    }
    checkMarker(bytes, this.url);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    // Pages continue with StartAfter (the last key seen) rather than continuation tokens:
    // same result on AWS, and some S3-compatible servers (s3rver) fail on tokens.
    let startAfter: string | undefined;
    try {
      for (;;) {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.objectKey(prefix), StartAfter: startAfter }),
          this.small(),
        );
        const contents = page.Contents ?? [];
        for (const o of contents) {
          if (!o.Key) continue;
          out.push({ key: this.relativeKey(o.Key), size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
        }
        const lastKey = contents[contents.length - 1]?.Key;
        if (!page.IsTruncated || !lastKey) break;
        startAfter = lastKey;
      }
    } catch (err) {
      this.fail(err, 'cannot list');
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), this.small());
      return { key, size: head.ContentLength ?? 0, lastModified: head.LastModified ?? new Date(0) };
    } catch (err) {
      if (isNotFound(err) && !isMissingBucket(err)) return undefined;
      this.fail(err, `cannot stat ${key} in`);
    }
  }

  async read(key: string): Promise<Readable> {
    // The wait for the answer is bounded; the body may rightly stream for hours (idle timeout only).
    const answered = new AbortController();
    const timer = setTimeout(() => answered.abort(new DOMException('no answer in time', 'TimeoutError')), this.budgetMs());
    try {
      return await this.get(key, answered.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private async get(key: string, abortSignal: AbortSignal): Promise<Readable> {
    try {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), { abortSignal });
      if (!(got.Body instanceof Readable)) throw new Error('the S3 response carried no stream');
      return got.Body;
    } catch (err) {
      if (isNotFound(err) && !isMissingBucket(err)) {
        throw new NotFoundError(`${key} not found in ${this.url}`, 'run `lifeboat snapshot list --repo ...` to see what is there');
      }
      this.fail(err, `cannot read ${key} from`);
    }
  }

  async readSmall(key: string): Promise<Buffer> {
    const stream = await this.get(key, this.small().abortSignal);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of stream) chunks.push(chunk as Buffer);
    } catch (err) {
      this.fail(err, `cannot read ${key} from`);
    }
    return Buffer.concat(chunks);
  }

  async writeStream(key: string, body: Readable, options: WriteOptions = {}): Promise<{ bytes: number }> {
    if (await this.stat(key)) {
      body.destroy();
      throw new StorageUnavailableError(`refusing to overwrite ${key} in ${this.url}`, 'objects in a repository are never overwritten; this points at a clock or id problem');
    }
    let bytes = 0;
    const counted = body.map((chunk: Buffer) => {
      bytes += chunk.length;
      return chunk;
    });
    const upload = new Upload({
      client: this.client,
      params: { ...this.putParams(key), Body: counted },
      partSize: this.options.partSizeBytes ?? DEFAULT_PART_SIZE,
      queueSize: this.options.queueSize ?? DEFAULT_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    upload.on('httpUploadProgress', (p) => options.onProgress?.(p.loaded ?? 0));
    const onAbort = () => void upload.abort().catch(() => {});
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
    } catch (err) {
      body.destroy();
      // The SDK aborts the multipart upload on error; a single-part upload leaves nothing either.
      if (options.signal?.aborted) throw options.signal.reason;
      if (err instanceof Error && err.name === 'AbortError' && options.signal?.aborted) throw options.signal.reason;
      this.fail(err, `upload of ${key} failed to`);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    // Trust but verify: the object must be there with every byte we sent.
    const stored = await this.stat(key);
    if (!stored || stored.size !== bytes) {
      await this.delete(key).catch(() => {});
      throw new StorageUnavailableError(
        `upload of ${key} to ${this.where()} stored ${stored?.size ?? 'nothing'} bytes instead of ${bytes}`,
        'the S3 service lost or altered the upload; check the endpoint and retry',
      );
    }
    return { bytes };
  }

  async writeSmall(key: string, data: Buffer): Promise<void> {
    try {
      await this.putSmall(key, data);
    } catch (err) {
      this.fail(err, `cannot write ${key} to`);
    }
  }

  async createExclusive(key: string, data: Buffer): Promise<boolean> {
    // IfNoneMatch makes the create atomic on AWS S3 and MinIO. Stores that ignore it get a
    // head check and a read-back, which narrows the race to the moment between them.
    if (await this.stat(key)) return false;
    try {
      await this.putSmall(key, data, { IfNoneMatch: '*' });
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 412 || status === 409) return false;
      this.fail(err, `cannot create ${key} in`);
    }
    const stored = await this.readSmall(key).catch(() => undefined);
    return stored !== undefined && stored.equals(data);
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), this.small());
    } catch (err) {
      if (isNotFound(err) && !isMissingBucket(err)) return;
      this.fail(err, `cannot delete ${key} from`);
    }
  }

  async compareAndDelete(key: string, expected: Buffer): Promise<boolean> {
    let etag: string | undefined;
    try {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), this.small());
      if (!(got.Body instanceof Readable)) throw new Error('the S3 response carried no stream');
      const chunks: Buffer[] = [];
      for await (const chunk of got.Body) chunks.push(chunk as Buffer);
      if (!Buffer.concat(chunks).equals(expected)) return false;
      etag = got.ETag;
    } catch (err) {
      if (isNotFound(err) && !isMissingBucket(err)) return false;
      this.fail(err, `cannot read ${key} from`);
    }
    // If-Match makes read-compare-delete one atomic step on AWS S3 (conditional deletes): the
    // delete fails with 412 when another run replaced the object after our read. A store that
    // ignores the header (s3rver, older S3-compatible servers) leaves the window of one round trip.
    const remove = (ifMatch: string | undefined) =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), ...(ifMatch ? { IfMatch: ifMatch } : {}) }), this.small());
    try {
      try {
        await remove(etag);
      } catch (err) {
        // A store that refuses conditional deletes outright gets the plain delete (the same window as one that ignores them).
        if (!etag || (describeS3Error(err).code !== 'NotImplemented' && statusOf(err) !== 501)) throw err;
        await remove(undefined);
      }
      return true;
    } catch (err) {
      const status = statusOf(err);
      if (status === 412 || status === 409) return false;
      if (isNotFound(err) && !isMissingBucket(err)) return false;
      this.fail(err, `cannot delete ${key} from`);
    }
  }

  async cleanupIncomplete(olderThan: Date): Promise<number> {
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: this.prefix ? this.prefix + '/' : undefined,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
          this.small(),
        );
        for (const u of page.Uploads ?? []) {
          if (!u.Key || !u.UploadId || (u.Initiated && u.Initiated >= olderThan)) continue;
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }), this.small());
          aborted++;
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);
    } catch (err) {
      // Some S3-compatible stores do not implement listing multipart uploads; nothing to clean there.
      if (describeS3Error(err).code === 'NotImplemented') return aborted;
      this.fail(err, 'cannot clean up incomplete uploads in');
    }
    return aborted;
  }

  /** Stops the client's sockets so the process can exit promptly. */
  close(): void {
    this.client.destroy();
  }

  private putParams(key: string): PutObjectCommandInput {
    return {
      Bucket: this.bucket,
      Key: this.objectKey(key),
      ServerSideEncryption: this.options.sse,
      SSEKMSKeyId: this.options.kmsKeyId,
      StorageClass: this.options.storageClass as PutObjectCommandInput['StorageClass'],
    };
  }

  private async putSmall(key: string, data: Buffer, extra: Partial<PutObjectCommandInput> = {}): Promise<void> {
    await this.client.send(new PutObjectCommand({ ...this.putParams(key), ...extra, Body: data, ContentLength: data.length }), this.small());
  }
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isMissingBucket(err: unknown): boolean {
  return describeS3Error(err).code === 'NoSuchBucket';
}
