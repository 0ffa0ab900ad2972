// Membership changes: member add (voter or learner), promote and remove, proposed as raft conf
// changes whose context carries the member's URLs, and applied into the replicated member table.
import { ConfChangeType, ProposalDroppedError, type ConfChange, type RawNode } from '../raft/index.js';
import type { PeerTransport } from '../transport/peer-transport.js';
import { computeAddedMemberId, parseMemberUrl } from './cluster-identity.js';
import type { MemberInfo } from './member-service.js';
import { decodeConfChangeContext, encodeConfChangeContext, type Membership } from './membership.js';
import { RequestWaiters } from './request-waiters.js';
import {
  ConfChangeInFlightError,
  LearnerNotReadyError,
  MemberBadUrlsError,
  MemberNotFoundError,
  MemberNotLearnerError,
  NoLeaderError,
  PeerUrlExistsError,
  RequestTimeoutError,
} from './server-errors.js';

/** What membership changes need from the member. */
export interface MembershipHost {
  readonly raft: RawNode;
  readonly transport: PeerTransport;
  readonly memberId: string;
  readonly clusterToken: string;
  readonly requestTimeoutMs: number;
  /** The current table (replaced wholesale when a snapshot is applied). */
  membership(): Membership;
  leader(): string;
  nextRequestId(): string;
  wake(): void;
  log(line: string): void;
  /** This member's own removal was applied. */
  onSelfRemoved(): void;
}

type Outcome = { members: MemberInfo[] };

/** Proposes and applies membership changes. */
export class MembershipChanges {
  private readonly waiters = new RequestWaiters<Outcome>();

  constructor(private readonly host: MembershipHost) {}

  /** member add: validates the URLs, derives a fresh ID, and resolves once the change applied here. */
  async add(peerURLs: string[], isLearner: boolean): Promise<{ member: MemberInfo; members: MemberInfo[] }> {
    let urls: string[];
    try {
      urls = peerURLs.map((u) => parseMemberUrl(u, 'peerURLs'));
    } catch {
      throw new MemberBadUrlsError();
    }
    if (urls.length === 0) throw new MemberBadUrlsError();
    if (this.host.membership().ownerOfPeerUrl(urls)) throw new PeerUrlExistsError();
    const id = computeAddedMemberId(urls, this.host.clusterToken, Date.now());
    const member: MemberInfo = { id, name: '', peerURLs: urls, clientURLs: [], isLearner };
    const { members } = await this.propose(isLearner ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode, id, { name: '', peerURLs: urls, clientURLs: [] });
    return { member, members };
  }

  /** member remove. */
  async remove(id: string): Promise<MemberInfo[]> {
    if (!this.host.membership().has(id)) throw new MemberNotFoundError();
    return (await this.propose(ConfChangeType.RemoveNode, id, undefined)).members;
  }

  /** member promote: a learner becomes a voter (refused while it lags, when this member leads and can tell). */
  async promote(id: string): Promise<MemberInfo[]> {
    const m = this.host.membership().get(id);
    if (!m) throw new MemberNotFoundError();
    if (!m.isLearner) throw new MemberNotLearnerError();
    // etcd's rule: a learner is ready when it has 90% of the leader's log. Only the leader knows.
    if (this.host.leader() === this.host.memberId) {
      const st = this.host.raft.status();
      const pr = st.progress?.get(id);
      if (!pr || pr.match < st.commit * 0.9) throw new LearnerNotReadyError();
    }
    return (await this.propose(ConfChangeType.AddNode, id, undefined)).members;
  }

  private async propose(type: ConfChangeType, nodeId: string, member: { name: string; peerURLs: string[]; clientURLs: string[] } | undefined): Promise<Outcome> {
    const requestId = this.host.nextRequestId();
    const done = this.waiters.wait(requestId, this.host.requestTimeoutMs, () => new RequestTimeoutError());
    try {
      this.host.raft.proposeConfChange({ type, nodeId, context: encodeConfChangeContext({ requestId, ...(member ? { member } : {}) }) });
    } catch (err) {
      const dropped = err instanceof ProposalDroppedError;
      this.waiters.fail(requestId, dropped ? (this.host.leader() === '' ? new NoLeaderError() : new ConfChangeInFlightError()) : err);
    }
    this.host.wake();
    return await done;
  }

  /** Applies a committed conf change entry (the same way on every member). */
  apply(cc: ConfChange): void {
    const table = this.host.membership();
    const ctx = decodeConfChangeContext(cc.context);
    const id = cc.nodeId;
    const known = table.has(id);
    const valid =
      cc.type === ConfChangeType.RemoveNode ? known : cc.type === ConfChangeType.AddLearnerNode ? !known && !table.isRemoved(id) : !table.isRemoved(id);
    if (!valid) {
      // Checked again here because the table may have changed since the proposal was checked.
      this.waiters.fail(ctx.requestId, cc.type === ConfChangeType.RemoveNode ? new MemberNotFoundError() : new MemberBadUrlsError());
      return;
    }
    this.host.raft.applyConfChange(cc);
    if (cc.type === ConfChangeType.RemoveNode) {
      table.remove(id);
      this.host.transport.removePeer(id);
      this.host.log(`member ${id} was removed from the cluster`);
    } else {
      const promoting = known && cc.type === ConfChangeType.AddNode;
      table.add(id, cc.type === ConfChangeType.AddLearnerNode, ctx.member);
      const m = table.get(id)!;
      this.host.transport.setPeer(id, m.peerURLs);
      this.host.log(
        promoting
          ? `member ${id} (${m.name || 'unstarted'}) was promoted to a voting member`
          : `member ${id} was added as a ${cc.type === ConfChangeType.AddLearnerNode ? 'learner' : 'voter'} with peer URLs ${m.peerURLs.join(',')}`,
      );
    }
    this.waiters.trigger(ctx.requestId, { members: table.list() });
    if (cc.type === ConfChangeType.RemoveNode && id === this.host.memberId) this.host.onSelfRemoved();
  }

  /** Fails every pending change (the member is stopping). */
  failAll(makeError: () => unknown): void {
    this.waiters.failAll(makeError);
  }
}
