// Cluster and member identity, derived deterministically from --initial-cluster and the token,
// so members built on different hosts (a fresh cluster, or one restored from a snapshot) agree
// on every ID without talking to each other. Pure functions: the restore tool reuses them.
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';

/** One entry of --initial-cluster: a member name and its peer URLs. */
export interface InitialMember {
  readonly name: string;
  readonly peerURLs: readonly string[];
}

/** A member with its derived 64-bit ID (16 lowercase hex digits). */
export interface IdentifiedMember extends InitialMember {
  readonly id: string;
}

/** The whole identity of a new cluster. */
export interface ClusterIdentity {
  readonly clusterId: string;
  readonly members: readonly IdentifiedMember[];
}

/**
 * Checks one URL for use as a peer or client URL: http(s), a host, a port, no path.
 * Returns the normalized form (`http://host:port`). `flag` names the flag in the error.
 */
export function parseMemberUrl(text: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new UsageError(`${flag}: "${text}" is not a URL`, `give URLs like http://127.0.0.1:2380`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${flag}: "${text}" must use http:// or https://`, `give URLs like http://127.0.0.1:2380`);
  }
  if (url.protocol === 'https:') {
    throw new UsageError(`${flag}: "${text}": TLS is not supported yet`, `use an http:// URL on a trusted network`);
  }
  if (url.hostname === '' || url.port === '') {
    throw new UsageError(`${flag}: "${text}" must name a host and a port`, `give URLs like http://127.0.0.1:2380`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '') {
    throw new UsageError(`${flag}: "${text}" must not carry a path, query or credentials`, `give URLs like http://127.0.0.1:2380`);
  }
  return `${url.protocol}//${url.host}`;
}

/** Parses a comma-separated URL list flag; at least one URL. */
export function parseUrlList(text: string, flag: string): string[] {
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0) throw new UsageError(`${flag} is empty`, `give at least one URL, like http://127.0.0.1:2380`);
  return parts.map((p) => parseMemberUrl(p, flag));
}

/**
 * Parses `--initial-cluster` ("n1=http://a:2380,n1=http://b:2380,n2=http://c:2380"): repeated names
 * collect several URLs for one member, as in etcd. Order of first appearance is kept.
 */
export function parseInitialCluster(text: string, flag = '--initial-cluster'): InitialMember[] {
  const byName = new Map<string, string[]>();
  const seenUrls = new Map<string, string>();
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) {
      throw new UsageError(`${flag}: "${part}" is not name=url`, `write it like n1=http://10.0.0.1:2380,n2=http://10.0.0.2:2380`);
    }
    const name = part.slice(0, eq).trim();
    const url = parseMemberUrl(part.slice(eq + 1), flag);
    const owner = seenUrls.get(url);
    if (owner !== undefined) {
      throw new UsageError(`${flag}: ${url} is given for both ${owner} and ${name}`, 'every member needs its own peer URLs');
    }
    seenUrls.set(url, name);
    const urls = byName.get(name) ?? [];
    urls.push(url);
    byName.set(name, urls);
  }
  if (byName.size === 0) throw new UsageError(`${flag} is empty`, `write it like n1=http://10.0.0.1:2380`);
  return [...byName].map(([name, peerURLs]) => ({ name, peerURLs }));
}

function sha256First8(parts: readonly (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  const id = hash.digest().subarray(0, 8).toString('hex');
  // Zero is "no member" to the raft core's wire format; avoid it (a 2^-64 event, but free to rule out).
  return id === '0000000000000000' ? '0000000000000001' : id;
}

/** Member ID: the first 8 bytes of SHA-256 over the member's sorted peer URLs (concatenated) and the token. */
export function computeMemberId(peerURLs: readonly string[], token: string): string {
  return sha256First8([[...peerURLs].sort().join(''), token]);
}

/** Cluster ID: the first 8 bytes of SHA-256 over the sorted member IDs (8 bytes each, big-endian) and the token. */
export function computeClusterId(memberIds: readonly string[], token: string): string {
  const ids = [...memberIds].sort().map((id) => Buffer.from(id, 'hex'));
  return sha256First8([...ids, token]);
}

/**
 * ID of a member added at runtime (`member add`). The time is mixed in, as etcd does, so a member
 * removed and added again with the same URLs gets a new ID and its old data directory stays refused.
 */
export function computeAddedMemberId(peerURLs: readonly string[], token: string, nowMs: number): string {
  return sha256First8([[...peerURLs].sort().join(''), token, String(nowMs)]);
}

/** Derives every ID of a new cluster from its initial membership and token. */
export function deriveClusterIdentity(members: readonly InitialMember[], token: string): ClusterIdentity {
  const identified = members.map((m) => ({ ...m, id: computeMemberId(m.peerURLs, token) }));
  const ids = new Set(identified.map((m) => m.id));
  if (ids.size !== identified.length) {
    throw new UsageError('--initial-cluster: two members derive the same ID', 'every member needs its own peer URLs');
  }
  return { clusterId: computeClusterId([...ids], token), members: identified };
}
