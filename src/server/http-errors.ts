// How errors leave the API: etcd's gateway shape {"error","message","code"} with the HTTP status
// grpc-gateway v1 (the one etcd 3.4 ships) gives each gRPC code.
import type { ResponseHeaderInfo } from './member-service.js';

/** grpc-gateway v1's runtime.HTTPStatusFromCode. */
export function httpStatusForGrpcCode(code: number): number {
  switch (code) {
    case 0: return 200;
    case 1: return 408; // canceled
    case 2: return 500; // unknown
    case 3: return 400; // invalid argument
    case 4: return 504; // deadline exceeded
    case 5: return 404; // not found
    case 6: return 409; // already exists
    case 7: return 403; // permission denied
    case 8: return 429; // resource exhausted
    case 9: return 412; // failed precondition
    case 10: return 409; // aborted
    case 11: return 400; // out of range
    case 12: return 501; // unimplemented
    case 13: return 500; // internal
    case 14: return 503; // unavailable
    case 15: return 500; // data loss
    case 16: return 401; // unauthenticated
    default: return 500;
  }
}

/** The gRPC code an error carries (GrpcError.code, KvError.grpcCode), or 13 internal for anything else. */
export function grpcCodeOf(err: unknown): number {
  if (err && typeof err === 'object') {
    const e = err as { grpcCode?: unknown; code?: unknown };
    if (typeof e.grpcCode === 'number') return e.grpcCode;
    if (typeof e.code === 'number') return e.code;
  }
  return 13;
}

/** The status and JSON body etcd's gateway would send for this error. */
export function errorResponse(err: unknown): { status: number; body: string } {
  const code = grpcCodeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  return { status: httpStatusForGrpcCode(code), body: JSON.stringify({ error: message, message, code }) };
}

const decimalCache = new Map<string, string>();

/** A 16-hex-digit ID as the decimal string etcd prints for a uint64. */
export function hexIdToDecimal(hex: string): string {
  if (hex === '') return '0';
  let decimal = decimalCache.get(hex);
  if (decimal === undefined) {
    decimal = BigInt('0x' + hex).toString(10);
    // IDs are few (one cluster, a handful of members): the cache stays tiny.
    if (decimalCache.size < 1024) decimalCache.set(hex, decimal);
  }
  return decimal;
}

/** A decimal uint64 (string or safe integer) as 16 lowercase hex digits; undefined when it is not one. */
export function decimalIdToHex(value: string | number): string | undefined {
  const text = typeof value === 'number' ? (Number.isSafeInteger(value) && value >= 0 ? String(value) : '') : value;
  if (!/^\d{1,20}$/.test(text)) return undefined;
  const id = BigInt(text);
  if (id >= 1n << 64n) return undefined;
  return id.toString(16).padStart(16, '0');
}

/** The response header in etcd's shape; zero fields omitted, as jsonpb does. */
export function encodeHeader(h: ResponseHeaderInfo, withRevision = true): Record<string, string> {
  const out: Record<string, string> = {};
  if (h.clusterId && !/^0+$/.test(h.clusterId)) out.cluster_id = hexIdToDecimal(h.clusterId);
  if (h.memberId && !/^0+$/.test(h.memberId)) out.member_id = hexIdToDecimal(h.memberId);
  if (withRevision && h.revision !== 0) out.revision = String(h.revision);
  if (h.raftTerm !== 0) out.raft_term = String(h.raftTerm);
  return out;
}
