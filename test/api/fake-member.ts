// A one-member MemberService without raft: the real MVCC store behind it, membership in a list.
// Enough to hold the HTTP layer to etcd's shapes; the real member is tested with real processes.
import { Readable } from 'node:stream';
import { MvccStore } from '../../src/kv/mvcc-store.js';
import type { KvResponse, RangeResponse, TxnResponse, WriteRequest } from '../../src/kv/requests.js';
import type {
  MemberInfo,
  MemberService,
  MemberStatus,
  ReadRequest,
  ResponseHeaderInfo,
} from '../../src/server/member-service.js';
import {
  LearnerNotReadyError,
  MemberExistsError,
  MemberNotFoundError,
  MemberNotLearnerError,
} from '../../src/server/server-errors.js';
import type { SnapshotHeader } from '../../src/snapshot/header.js';

export interface FakeMemberOptions {
  clusterId?: string;
  memberId?: string;
  name?: string;
  peerURL?: string;
  clientURL?: string;
  /** What openSnapshot does; default: 3 chunks of bytes. */
  snapshot?: (signal?: AbortSignal) => Promise<{ header: SnapshotHeader; stream: Readable }>;
}

/** A member that answers from an in-process MvccStore. */
export class FakeMember implements MemberService {
  readonly store = new MvccStore();
  readonly clusterId: string;
  readonly memberId: string;
  raftTerm = 2;
  readonly memberList: MemberInfo[];
  private nextId = 1n;
  /** Every call, for tests that check what reached the member. */
  readonly calls: string[] = [];

  constructor(private readonly options: FakeMemberOptions = {}) {
    this.clusterId = options.clusterId ?? '0482a8b0f5a1e3c7';
    this.memberId = options.memberId ?? '2e12c8b7f0a1d3e5';
    this.memberList = [
      {
        id: this.memberId,
        name: options.name ?? 'e1',
        peerURLs: [options.peerURL ?? 'http://127.0.0.1:23800'],
        clientURLs: [options.clientURL ?? 'http://127.0.0.1:23790'],
        isLearner: false,
      },
    ];
  }

  header(): ResponseHeaderInfo {
    return { clusterId: this.clusterId, memberId: this.memberId, revision: this.store.revision, raftTerm: this.raftTerm };
  }

  async write(request: WriteRequest): Promise<{ response: KvResponse; header: ResponseHeaderInfo }> {
    this.calls.push('write:' + request.kind);
    const response = this.store.apply(request) as KvResponse;
    return { response, header: this.header() };
  }

  async read(request: ReadRequest, options: { serializable: boolean }): Promise<{ response: RangeResponse | TxnResponse; header: ResponseHeaderInfo }> {
    this.calls.push(`read:${request.kind}:${options.serializable ? 'serializable' : 'linearizable'}`);
    const response = this.store.apply(request) as RangeResponse | TxnResponse;
    return { response, header: this.header() };
  }

  async members(): Promise<{ members: MemberInfo[]; header: ResponseHeaderInfo }> {
    return { members: this.memberList.map((m) => ({ ...m })), header: this.header() };
  }

  async addMember(peerURLs: string[], isLearner: boolean): Promise<{ member: MemberInfo; members: MemberInfo[]; header: ResponseHeaderInfo }> {
    // Member IDs derive from peer URLs, so the same URLs give an existing ID, as in etcd.
    if (this.memberList.some((m) => m.peerURLs.some((u) => peerURLs.includes(u)))) throw new MemberExistsError();
    const id = (0xa000000000000000n + this.nextId++).toString(16);
    const member: MemberInfo = { id, name: '', peerURLs: [...peerURLs], clientURLs: [], isLearner };
    this.memberList.push(member);
    return { member: { ...member }, ...(await this.members()) };
  }

  async removeMember(id: string): Promise<{ members: MemberInfo[]; header: ResponseHeaderInfo }> {
    const at = this.memberList.findIndex((m) => m.id === id);
    if (at < 0) throw new MemberNotFoundError();
    this.memberList.splice(at, 1);
    return this.members();
  }

  async promoteMember(id: string): Promise<{ members: MemberInfo[]; header: ResponseHeaderInfo }> {
    const member = this.memberList.find((m) => m.id === id);
    if (!member) throw new MemberNotFoundError();
    if (!member.isLearner) throw new MemberNotLearnerError();
    // A fake learner never runs, so it is never in sync.
    throw new LearnerNotReadyError();
  }

  async status(): Promise<{ status: MemberStatus; header: ResponseHeaderInfo }> {
    const stats = this.store.stats();
    return {
      status: {
        version: '0.1.0',
        dbSize: stats.dbSize || 1,
        leader: this.memberId,
        raftIndex: stats.revision + 3,
        raftTerm: this.raftTerm,
        raftAppliedIndex: stats.revision + 3,
        isLearner: false,
        errors: [],
      },
      header: this.header(),
    };
  }

  async hashKV(revision: number): Promise<{ hash: number; compactRevision: number; header: ResponseHeaderInfo }> {
    const result = this.store.hashKV(revision);
    return { hash: result.hash, compactRevision: result.compactRevision, header: this.header() };
  }

  async openSnapshot(_options: { serializable: boolean }, signal?: AbortSignal): Promise<{ header: SnapshotHeader; stream: Readable }> {
    if (this.options.snapshot) return this.options.snapshot(signal);
    return { header: fakeSnapshotHeader(this.store.revision), stream: Readable.from([Buffer.from('snap-'), Buffer.from('shot-'), Buffer.from('bytes')]) };
  }
}

/** A header good enough for the API, which only reads its revision and raft index. */
export function fakeSnapshotHeader(revision: number): SnapshotHeader {
  return {
    formatVersion: 1,
    clusterId: '0482a8b0f5a1e3c7',
    members: [],
    raftIndex: revision + 3,
    raftTerm: 2,
    revision,
    compactRevision: 0,
    keyCount: 0,
    createdAt: '2026-01-01T00:00:00.000Z',
    sourceMember: '2e12c8b7f0a1d3e5',
    extra: {},
  };
}
