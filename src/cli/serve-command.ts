// `lifeboat serve`: runs one member. Flags are named as etcd's, each with a LIFEBOAT_<FLAG>
// environment fallback (flags win). Logs go to stderr; "ready: serving clients on <url>" marks
// the moment clients can connect. SIGINT/SIGTERM stop the member cleanly.
import { Command, Option } from 'commander';
import { LifeboatError, UsageError } from '../errors.js';
import { parseInitialCluster, parseUrlList } from '../server/cluster-identity.js';
import { Member, MemberRemovedError } from '../server/member.js';
import { bootMember } from '../server/member-bootstrap.js';
import { acquireDataDirLock } from '../server/data-dir-lock.js';
import { MEMBER_DEFAULTS, defaultRequestTimeout, type MemberConfig } from '../server/member-config.js';
import { startHttpApi, type HttpApiServer } from '../server/http-api.js';
import { AddressInUseError } from '../transport/peer-transport.js';
import { VERSION } from '../version.js';
import { action } from './run-action.js';

interface ServeOptions {
  name: string;
  dataDir?: string;
  listenClientUrls: string;
  advertiseClientUrls?: string;
  listenPeerUrls: string;
  initialAdvertisePeerUrls?: string;
  initialCluster?: string;
  initialClusterState: string;
  initialClusterToken: string;
  snapshotCount: string;
  heartbeatInterval: string;
  electionTimeout: string;
}

function flag(name: string, description: string, defaultValue?: string): Option {
  const o = new Option(`--${name} <value>`, description).env(`LIFEBOAT_${name.toUpperCase().replace(/-/g, '_')}`);
  return defaultValue === undefined ? o : o.default(defaultValue);
}

/** Registers `lifeboat serve`. */
export function registerServeCommand(parent: Command): void {
  parent
    .command('serve')
    .description('run one member of a Lifeboat cluster (flags as etcd\'s; each also reads LIFEBOAT_<FLAG>)')
    .addOption(flag('name', 'human-readable name of this member', 'default'))
    .addOption(flag('data-dir', 'path to the data directory (default: <name>.lifeboat)'))
    .addOption(flag('listen-client-urls', 'URLs to serve the client API on', 'http://127.0.0.1:2379'))
    .addOption(flag('advertise-client-urls', 'client URLs to tell the cluster about (default: --listen-client-urls)'))
    .addOption(flag('listen-peer-urls', 'URLs to listen on for peer traffic', 'http://127.0.0.1:2380'))
    .addOption(flag('initial-advertise-peer-urls', 'peer URLs to tell the cluster about (default: --listen-peer-urls)'))
    .addOption(flag('initial-cluster', 'initial members, like n1=http://10.0.0.1:2380,n2=http://10.0.0.2:2380 (default: <name>=<peer urls>)'))
    .addOption(flag('initial-cluster-state', 'new (bootstrap) or existing (join a running cluster)', 'new'))
    .addOption(flag('initial-cluster-token', 'token that makes cluster and member IDs unique', 'lifeboat-cluster'))
    .addOption(flag('snapshot-count', 'applied entries between local snapshots', String(MEMBER_DEFAULTS.snapshotCount)))
    .addOption(flag('heartbeat-interval', 'heartbeat interval in ms', String(MEMBER_DEFAULTS.heartbeatMs)))
    .addOption(flag('election-timeout', 'election timeout in ms', String(MEMBER_DEFAULTS.electionMs)))
    .action(action(async (ctx, opts: ServeOptions) => serve(ctx.signal, opts)));
}

function positiveInt(text: string, flagName: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--${flagName}: "${text}" is not a positive integer`, `give a whole number, like --${flagName} 100`);
  return n;
}

/** Resolves and checks every flag; throws UsageError naming the flag. */
export function resolveServeOptions(opts: ServeOptions) {
  const name = opts.name.trim();
  if (name === '' || /[=,]/.test(name)) throw new UsageError(`--name: "${opts.name}" is not a usable name`, 'use letters, digits and dashes, like --name n1');
  const listenClientUrls = parseUrlList(opts.listenClientUrls, '--listen-client-urls');
  const advertiseClientUrls = opts.advertiseClientUrls ? parseUrlList(opts.advertiseClientUrls, '--advertise-client-urls') : listenClientUrls;
  const listenPeerUrls = parseUrlList(opts.listenPeerUrls, '--listen-peer-urls');
  const advertisePeerUrls = opts.initialAdvertisePeerUrls ? parseUrlList(opts.initialAdvertisePeerUrls, '--initial-advertise-peer-urls') : listenPeerUrls;
  const initialCluster = parseInitialCluster(opts.initialCluster ?? `${name}=${advertisePeerUrls.join(`,${name}=`)}`);
  const mine = initialCluster.find((m) => m.name === name);
  if (!mine) {
    throw new UsageError(`--initial-cluster has no member named "${name}" (--name)`, `add ${name}=${advertisePeerUrls[0]} to --initial-cluster, or fix --name`);
  }
  const state = opts.initialClusterState;
  if (state !== 'new' && state !== 'existing') throw new UsageError(`--initial-cluster-state: "${state}" is neither new nor existing`, 'use --initial-cluster-state new to bootstrap, existing to join');
  if ([...mine.peerURLs].sort().join(',') !== [...advertisePeerUrls].sort().join(',')) {
    throw new UsageError(
      `--initial-cluster gives ${name} the peer URLs ${mine.peerURLs.join(',')}, but --initial-advertise-peer-urls is ${advertisePeerUrls.join(',')}`,
      'make them the same',
    );
  }
  const heartbeatMs = positiveInt(opts.heartbeatInterval, 'heartbeat-interval');
  const electionMs = positiveInt(opts.electionTimeout, 'election-timeout');
  if (electionMs < 5 * heartbeatMs) {
    throw new UsageError(`--election-timeout ${electionMs} must be at least 5 times --heartbeat-interval ${heartbeatMs}`, 'etcd\'s rule; for example 100 and 1000');
  }
  const token = opts.initialClusterToken;
  if (token === '') throw new UsageError('--initial-cluster-token is empty', 'give a token unique to this cluster');
  return {
    name,
    dataDir: opts.dataDir ?? `${name}.lifeboat`,
    listenClientUrls,
    advertiseClientUrls,
    listenPeerUrls,
    advertisePeerUrls,
    initialCluster,
    clusterState: state as 'new' | 'existing',
    token,
    snapshotCount: positiveInt(opts.snapshotCount, 'snapshot-count'),
    heartbeatMs,
    electionMs,
  };
}

async function serve(signal: AbortSignal, opts: ServeOptions): Promise<void> {
  const o = resolveServeOptions(opts);
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${o.name}: ${line}\n`);
  // Before anything reads or writes the directory: one member per data directory, ever.
  const lock = acquireDataDirLock(o.dataDir, log);
  try {
    await serveLocked(signal, o, log);
  } finally {
    lock.release();
  }
}

async function serveLocked(signal: AbortSignal, o: ReturnType<typeof resolveServeOptions>, log: (line: string) => void): Promise<void> {
  const { clusterId, memberId, boot } = await bootMember({
    name: o.name,
    dataDir: o.dataDir,
    initialCluster: o.initialCluster,
    clusterState: o.clusterState,
    token: o.token,
    advertisePeerUrls: o.advertisePeerUrls,
    advertiseClientUrls: o.advertiseClientUrls,
    log,
  });
  const config: MemberConfig = {
    name: o.name,
    dataDir: o.dataDir,
    clusterId,
    memberId,
    clusterToken: o.token,
    listenPeerUrls: o.listenPeerUrls,
    advertisePeerUrls: o.advertisePeerUrls,
    advertiseClientUrls: o.advertiseClientUrls,
    snapshotCount: o.snapshotCount,
    snapshotCatchUpEntries: MEMBER_DEFAULTS.snapshotCatchUpEntries,
    heartbeatMs: o.heartbeatMs,
    electionMs: o.electionMs,
    requestTimeoutMs: defaultRequestTimeout(o.electionMs),
    version: VERSION,
    log,
  };
  const member = new Member(config, boot);
  const apis: HttpApiServer[] = [];
  try {
    try {
      await member.start();
    } catch (err) {
      if (err instanceof AddressInUseError) throw new UsageError(`--listen-peer-urls: ${err.url} is already in use`, 'stop whatever listens on that port, or choose another port');
      throw err;
    }
    for (const url of o.listenClientUrls) apis.push(await startHttpApi(member, url, { log }));
    log(`member ${memberId} of cluster ${clusterId} started (peers on ${o.listenPeerUrls.join(',')})`);
    for (const api of apis) process.stderr.write(`ready: serving clients on ${api.url}\n`);
    const aborted = new Promise<undefined>((resolve) => {
      if (signal.aborted) resolve(undefined);
      signal.addEventListener('abort', () => resolve(undefined), { once: true });
    });
    const reason = await Promise.race([member.stopped, aborted]);
    if (reason instanceof MemberRemovedError) {
      throw new LifeboatError(`member ${memberId} was removed from cluster ${clusterId}`, 'this data directory cannot rejoin; add the member again with `lifeboat member add` and start it with an empty --data-dir');
    }
    if (reason) throw reason;
    log('stopping');
    await member.handOffLeadership();
  } finally {
    await Promise.all(apis.map((a) => a.close()));
    await member.stop();
  }
}
