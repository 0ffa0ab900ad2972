// Turns AWS SDK errors into the repository's typed errors: a missing bucket or key is
// "not found" (exit 10); bad credentials, denied access, unreachable endpoints and
// exhausted retries are "storage unavailable" (exit 14). Messages never contain credentials.
import { LifeboatError, NotFoundError, StorageUnavailableError } from '../errors.js';

/** The parts of an SDK or network error worth reporting. */
export function describeS3Error(err: unknown): { code: string; status?: number; message: string } {
  const e = err as { name?: string; Code?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const code = e?.Code ?? e?.name ?? e?.code ?? 'Error';
  return { code, status: e?.$metadata?.httpStatusCode, message: (e?.message ?? String(err)).split('\n')[0]! };
}

/** True for a missing key or bucket. */
export function isNotFound(err: unknown): boolean {
  const { code, status } = describeS3Error(err);
  return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchBucket' || status === 404;
}

const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'CredentialsProviderError',
  'ExpiredToken',
  'InvalidToken',
  'Forbidden',
]);

/** Wraps err with `context` ("cannot list s3://b/p at http://...") as a typed error. */
export function toRepositoryError(err: unknown, context: string): LifeboatError {
  if (err instanceof LifeboatError) return err;
  const { code, status, message } = describeS3Error(err);
  if (code === 'NoSuchBucket') {
    return new NotFoundError(`${context}: the bucket does not exist`, 'check the bucket name in --repo and --s3-endpoint/--s3-region', { cause: err });
  }
  if (CREDENTIAL_CODES.has(code) || status === 403) {
    return new StorageUnavailableError(
      `${context}: access denied (${code})`,
      'check the AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the instance role) and the bucket policy',
      { cause: err },
    );
  }
  return new StorageUnavailableError(
    `${context}: ${code}${status ? ` (HTTP ${status})` : ''}: ${message}`,
    'the S3 endpoint did not answer or kept failing after retries; check --s3-endpoint, the network and the service status, then run again',
    { cause: err },
  );
}
