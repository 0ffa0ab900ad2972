// The interface the HTTP/JSON API calls: one member, seen from its client side. The member
// (src/server/member.ts) implements it; the API tests use fakes of it. Errors it rejects with are
// the typed errors of ./server-errors.ts (GrpcError) and ../kv/kv-errors.ts (KvError), both of
// which carry the gRPC code and etcd's message text.
import type { Readable } from 'node:stream';
import type { KvResponse, RangeRequest, RangeResponse, TxnRequest, TxnResponse, WriteRequest } from '../kv/requests.js';
import type { SnapshotHeader } from '../snapshot/header.js';

/** What every response's `header` carries (IDs as 16 hex digits; the API prints them in decimal). */
export interface ResponseHeaderInfo {
  clusterId: string;
  memberId: string;
  revision: number;
  raftTerm: number;
}

/** One member as the member list shows it. */
export interface MemberInfo {
  /** 16 lowercase hex digits. */
  id: string;
  /** Empty for a member that was added but has not started yet (as in etcd). */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/** etcd's StatusResponse, minus the header. */
export interface MemberStatus {
  version: string;
  dbSize: number;
  /** 16 hex digits; empty when no leader is known. */
  leader: string;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  isLearner: boolean;
  errors: string[];
}

/** A read the member serves: a range, or a txn without writes. */
export type ReadRequest = RangeRequest | TxnRequest;

/** The member, as the API sees it. */
export interface MemberService {
  /** The header for a response produced right now (current revision and term). */
  header(): ResponseHeaderInfo;
  /** Proposes a write (put, delete range, txn, compaction) through raft; resolves when applied on this member. */
  write(request: WriteRequest, signal?: AbortSignal): Promise<{ response: KvResponse; header: ResponseHeaderInfo }>;
  /**
   * A range, or a txn: linearizable through ReadIndex unless serializable. A txn that contains writes is
   * sent through raft as a write (the API may call either; read() takes care of it).
   */
  read(
    request: ReadRequest,
    options: { serializable: boolean },
    signal?: AbortSignal,
  ): Promise<{ response: RangeResponse | TxnResponse | KvResponse; header: ResponseHeaderInfo }>;
  /** The membership, linearizable (read through ReadIndex). */
  members(): Promise<{ members: MemberInfo[]; header: ResponseHeaderInfo }>;
  /** Adds a member (as a learner or voter); resolves once the change is applied here. */
  addMember(peerURLs: string[], isLearner: boolean): Promise<{ member: MemberInfo; members: MemberInfo[]; header: ResponseHeaderInfo }>;
  /** Removes a member by ID (16 hex digits). */
  removeMember(id: string): Promise<{ members: MemberInfo[]; header: ResponseHeaderInfo }>;
  /** Promotes a learner to a voter. */
  promoteMember(id: string): Promise<{ members: MemberInfo[]; header: ResponseHeaderInfo }>;
  /** This member's status (never needs a quorum). */
  status(): Promise<{ status: MemberStatus; header: ResponseHeaderInfo }>;
  /** The KV hash at a revision (0 = current) on this member, with the compact revision. */
  hashKV(revision: number): Promise<{ hash: number; compactRevision: number; header: ResponseHeaderInfo }>;
  /**
   * A snapshot of one revision R in the snapshot format: every write acknowledged before the call is
   * in it (ReadIndex barrier unless serializable), nothing newer. The stream has backpressure; destroying
   * it (or aborting `signal`) releases the read view. Rejects before any byte if the barrier fails.
   */
  openSnapshot(options: { serializable: boolean }, signal?: AbortSignal): Promise<{ header: SnapshotHeader; stream: Readable }>;
}
