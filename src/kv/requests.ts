// The requests the key-value state machine accepts and the responses it returns.
// Internal types (Buffers and numbers, not JSON): the HTTP gateway maps etcd's JSON onto
// them and back; the request codec carries the write requests inside raft entries.
// Field names follow etcd's protobuf names in camelCase; enum values use etcd's names.

import type { KeyValueRecord } from './record.js';

export type SortOrder = 'NONE' | 'ASCEND' | 'DESCEND';
export type SortTarget = 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';
export type CompareResult = 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';
export type CompareTarget = 'VERSION' | 'CREATE' | 'MOD' | 'VALUE' | 'LEASE';

/**
 * Range semantics shared by every request with a key and an optional range end:
 * rangeEnd absent or empty means the single key; a single zero byte means every key >= key;
 * anything else is the exclusive upper bound (a prefix end is computed by the caller, see prefixEnd).
 */
export interface RangeRequest {
  readonly kind: 'range';
  readonly key: Buffer;
  readonly rangeEnd?: Buffer;
  /** 0 or absent: no limit. */
  readonly limit?: number;
  /** 0 or absent: the current revision. */
  readonly revision?: number;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  /** Not used by the store (the server decides how to read); carried so it round-trips. */
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

export interface PutRequest {
  readonly kind: 'put';
  readonly key: Buffer;
  readonly value: Buffer;
  /** Leases are not implemented: any non-zero lease is refused with LeaseNotFoundError. */
  readonly lease?: number;
  readonly prevKv?: boolean;
  readonly ignoreValue?: boolean;
  readonly ignoreLease?: boolean;
}

export interface DeleteRangeRequest {
  readonly kind: 'deleteRange';
  readonly key: Buffer;
  readonly rangeEnd?: Buffer;
  readonly prevKv?: boolean;
}

/** One condition of a txn; the operand is the field named by target (absent: 0 or empty). */
export interface Compare {
  readonly result: CompareResult;
  readonly target: CompareTarget;
  readonly key: Buffer;
  readonly rangeEnd?: Buffer;
  readonly version?: number;
  readonly createRevision?: number;
  readonly modRevision?: number;
  readonly value?: Buffer;
  readonly lease?: number;
}

export type RequestOp = RangeRequest | PutRequest | DeleteRangeRequest | TxnRequest;

export interface TxnRequest {
  readonly kind: 'txn';
  readonly compare: readonly Compare[];
  readonly success: readonly RequestOp[];
  readonly failure: readonly RequestOp[];
}

export interface CompactionRequest {
  readonly kind: 'compaction';
  readonly revision: number;
  /** etcd's flag to wait for the physical compaction; compaction here is synchronous, so it changes nothing. */
  readonly physical?: boolean;
}

/** Requests that change state and therefore travel through raft. */
export type WriteRequest = PutRequest | DeleteRangeRequest | TxnRequest | CompactionRequest;
/** Everything apply() accepts. */
export type KvRequest = WriteRequest | RangeRequest;

/** Every response carries the store revision after the request (etcd's header.revision). */
export interface RangeResponse {
  readonly kind: 'range';
  readonly revision: number;
  /** With keysOnly the records' values are empty; with countOnly the list is empty. */
  readonly kvs: KeyValueRecord[];
  /** More keys matched than limit allowed. */
  readonly more: boolean;
  /** How many keys the range holds at the revision read (ignores limit and the min/max filters, as etcd). */
  readonly count: number;
}

export interface PutResponse {
  readonly kind: 'put';
  readonly revision: number;
  readonly prevKv?: KeyValueRecord;
}

export interface DeleteRangeResponse {
  readonly kind: 'deleteRange';
  readonly revision: number;
  readonly deleted: number;
  /** Present (possibly empty) when prevKv was asked for. */
  readonly prevKvs?: KeyValueRecord[];
}

export type ResponseOp = RangeResponse | PutResponse | DeleteRangeResponse | TxnResponse;

export interface TxnResponse {
  readonly kind: 'txn';
  readonly revision: number;
  readonly succeeded: boolean;
  /** One response per op of the branch taken; nested responses carry the txn's final revision. */
  readonly responses: ResponseOp[];
}

export interface CompactionResponse {
  readonly kind: 'compaction';
  readonly revision: number;
}

export type KvResponse = RangeResponse | PutResponse | DeleteRangeResponse | TxnResponse | CompactionResponse;

/** The response type apply() returns for a given request type. */
export type ResponseFor<R extends KvRequest> = R extends RangeRequest
  ? RangeResponse
  : R extends PutRequest
    ? PutResponse
    : R extends DeleteRangeRequest
      ? DeleteRangeResponse
      : R extends TxnRequest
        ? TxnResponse
        : R extends CompactionRequest
          ? CompactionResponse
          : never;
