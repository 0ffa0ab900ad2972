// The repository flags every snapshot command shares: --repo (or LIFEBOAT_REPO) and the S3
// flags. Credentials never appear here: they come from the standard AWS chain only.
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { openRepository } from '../repo/open-repository.js';
import type { Repository } from '../repo/repository.js';
import type { S3RepositoryOptions } from '../repo/s3-repository.js';

/** The parsed repository flags (commander's camelCase names). */
export interface RepoFlags {
  readonly repo?: string;
  readonly s3Endpoint?: string;
  readonly s3Region?: string;
  readonly s3ForcePathStyle?: boolean;
  readonly s3Sse?: 'AES256' | 'aws:kms';
  readonly s3KmsKeyId?: string;
  readonly s3StorageClass?: string;
  readonly s3RequestTimeout?: string;
}

/** Adds --repo and the S3 flags to a command. */
export function addRepoOptions(command: Command): Command {
  return command
    .addOption(new Option('--repo <url>', 'backup repository: a directory, file:///path or s3://bucket/prefix').env('LIFEBOAT_REPO'))
    .addOption(new Option('--s3-endpoint <url>', 'S3-compatible endpoint (MinIO, Ceph, R2, ...); default: AWS').env('LIFEBOAT_S3_ENDPOINT'))
    .addOption(new Option('--s3-region <region>', 'S3 region (default: from the AWS environment, else us-east-1)').env('LIFEBOAT_S3_REGION'))
    .addOption(new Option('--s3-force-path-style', 'address buckets as endpoint/bucket (needed by most S3-compatible servers)').env('LIFEBOAT_S3_FORCE_PATH_STYLE'))
    .addOption(new Option('--s3-sse <mode>', 'server-side encryption').choices(['AES256', 'aws:kms']).env('LIFEBOAT_S3_SSE'))
    .addOption(new Option('--s3-kms-key-id <id>', 'KMS key for --s3-sse aws:kms').env('LIFEBOAT_S3_KMS_KEY_ID'))
    .addOption(new Option('--s3-storage-class <class>', 'storage class of new objects (e.g. STANDARD_IA)').env('LIFEBOAT_S3_STORAGE_CLASS'))
    .addOption(new Option('--s3-request-timeout <duration>', 'give up on a small S3 request (list, stat, manifest, lock) after this long, retries included (default 60s)').env('LIFEBOAT_S3_REQUEST_TIMEOUT'));
}

/** Builds the repository the flags name; UsageError naming --repo when there is none. */
export function repositoryFromFlags(flags: RepoFlags): Repository {
  const repo = optionalRepositoryFromFlags(flags);
  if (!repo) {
    throw new UsageError('--repo is required', 'pass --repo /path/to/dir or --repo s3://bucket/prefix, or set LIFEBOAT_REPO');
  }
  return repo;
}

/** Like repositoryFromFlags, but undefined without --repo (commands that also read plain files). */
export function optionalRepositoryFromFlags(flags: RepoFlags): Repository | undefined {
  if (flags.repo === undefined) {
    if (flags.s3Endpoint || flags.s3Sse || flags.s3KmsKeyId || flags.s3StorageClass || flags.s3RequestTimeout) {
      throw new UsageError('S3 flags were given without --repo s3://...', 'add --repo s3://bucket/prefix');
    }
    return undefined;
  }
  const isS3 = /^s3:\/\//i.test(flags.repo.trim());
  const s3Flag = ['s3Endpoint', 's3Region', 's3Sse', 's3KmsKeyId', 's3StorageClass', 's3RequestTimeout'].find((k) => flags[k as keyof RepoFlags] !== undefined);
  if (!isS3 && (s3Flag || flags.s3ForcePathStyle)) {
    const name = '--' + (s3Flag ?? 's3ForcePathStyle').replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
    throw new UsageError(`${name} applies only to s3:// repositories, and --repo is ${flags.repo}`, 'drop the S3 flags or use --repo s3://bucket/prefix');
  }
  if (flags.s3Endpoint !== undefined && !isHttpUrl(flags.s3Endpoint)) {
    throw new UsageError(`--s3-endpoint ${flags.s3Endpoint} is not an http:// or https:// URL`, 'give the endpoint like https://minio.example.com:9000');
  }
  if (flags.s3KmsKeyId && flags.s3Sse === 'AES256') {
    throw new UsageError('--s3-kms-key-id needs --s3-sse aws:kms, not AES256', 'use --s3-sse aws:kms with --s3-kms-key-id');
  }
  const s3: S3RepositoryOptions = {
    endpoint: flags.s3Endpoint,
    region: flags.s3Region,
    forcePathStyle: flags.s3ForcePathStyle,
    sse: flags.s3KmsKeyId ? 'aws:kms' : flags.s3Sse,
    kmsKeyId: flags.s3KmsKeyId,
    storageClass: flags.s3StorageClass,
    requestBudgetMs: flags.s3RequestTimeout === undefined ? undefined : requestTimeout(flags.s3RequestTimeout),
  };
  return openRepository(flags.repo, s3);
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

function requestTimeout(text: string): number {
  const ms = parseDuration(text, '--s3-request-timeout');
  if (ms < 1000) throw new UsageError('--s3-request-timeout must be at least 1s', 'for example --s3-request-timeout 60s');
  return ms;
}
