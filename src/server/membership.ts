// The member list as replicated state: who is in the cluster, with names and URLs, and who
// was removed. Conf change entries carry a context (below) that the apply step folds in here;
// snapshots carry the list in their header, so a member restored from a snapshot has it too.
import type { MemberInfo } from './member-service.js';

/** What a conf change entry's context carries (JSON: conf changes are rare, so clarity wins). */
export interface ConfChangeContext {
  /** Matches the applied change to the caller waiting for it on the proposing member. */
  readonly requestId: string;
  readonly member?: { readonly name: string; readonly peerURLs: readonly string[]; readonly clientURLs: readonly string[] };
}

/** Encodes a conf change context. */
export function encodeConfChangeContext(ctx: ConfChangeContext): Uint8Array {
  return Buffer.from(JSON.stringify(ctx), 'utf8');
}

/** Decodes a conf change context; an unreadable one yields an empty context rather than stopping apply. */
export function decodeConfChangeContext(data: Uint8Array | undefined): ConfChangeContext {
  if (!data || data.byteLength === 0) return { requestId: '' };
  try {
    const v = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as ConfChangeContext;
    return typeof v === 'object' && v !== null ? v : { requestId: '' };
  } catch {
    return { requestId: '' };
  }
}

/** A member's attributes published after it starts (name and client URLs). */
export interface MemberAttributes {
  readonly id: string;
  readonly name: string;
  readonly clientURLs: readonly string[];
}

/** The replicated member table. */
export class Membership {
  private readonly members = new Map<string, MemberInfo>();
  private readonly removedIds = new Set<string>();

  constructor(initial: readonly MemberInfo[] = [], removed: readonly string[] = []) {
    for (const m of initial) this.members.set(m.id, cloneMember(m));
    for (const id of removed) this.removedIds.add(id);
  }

  /** Every member, sorted by ID (the order etcd lists them in is not meaningful; a stable one helps). */
  list(): MemberInfo[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(cloneMember);
  }

  get(id: string): MemberInfo | undefined {
    const m = this.members.get(id);
    return m ? cloneMember(m) : undefined;
  }

  has(id: string): boolean {
    return this.members.has(id);
  }

  isRemoved(id: string): boolean {
    return this.removedIds.has(id);
  }

  removed(): string[] {
    return [...this.removedIds].sort();
  }

  /** The member (if any) that already uses one of these peer URLs. */
  ownerOfPeerUrl(urls: readonly string[]): MemberInfo | undefined {
    for (const m of this.members.values()) if (m.peerURLs.some((u) => urls.includes(u))) return cloneMember(m);
    return undefined;
  }

  /** Applies an added voter or learner (or a promotion, when the member is known). */
  add(id: string, isLearner: boolean, member: ConfChangeContext['member']): void {
    const existing = this.members.get(id);
    if (existing) {
      existing.isLearner = isLearner;
      return;
    }
    this.removedIds.delete(id);
    this.members.set(id, {
      id,
      name: member?.name ?? '',
      peerURLs: [...(member?.peerURLs ?? [])],
      clientURLs: [...(member?.clientURLs ?? [])],
      isLearner,
    });
  }

  /** Applies a removal: the ID is refused from now on. */
  remove(id: string): void {
    this.members.delete(id);
    this.removedIds.add(id);
  }

  /** Applies published attributes; unknown members are ignored (they were removed meanwhile). */
  publish(attrs: MemberAttributes): void {
    const m = this.members.get(attrs.id);
    if (!m) return;
    m.name = attrs.name;
    m.clientURLs = [...attrs.clientURLs];
  }
}

function cloneMember(m: MemberInfo): MemberInfo {
  return { id: m.id, name: m.name, peerURLs: [...m.peerURLs], clientURLs: [...m.clientURLs], isLearner: m.isLearner };
}
