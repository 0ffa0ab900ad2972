// The everyday client commands: put, get, del, member list|add|remove|promote, endpoint status.
// Shaped like etcdctl's (plain output a human or a shell script can read), with --json for
// machines: one document on stdout with schema "lifeboat.<command>/v1".
import { Option, type Command } from 'commander';
import { ClusterUnavailableError, ExitCode, LifeboatError, UsageError } from '../errors.js';
import { LifeboatClient } from '../client/lifeboat-client.js';
import { DEFAULT_ENDPOINT, parseEndpoints } from '../client/endpoints.js';
import type { KeyValue, Member, ResponseHeader, StatusResult } from '../client/client-types.js';
import { parseDuration } from '../duration.js';
import { formatBytes, log, printJson, renderTable } from './output.js';
import { action, type ActionContext } from './run-action.js';

interface ClientFlags {
  endpoints: string;
  commandTimeout?: string;
  json?: boolean;
}

function addClientOptions(command: Command): Command {
  return command
    .addOption(new Option('--endpoints <urls>', 'client URLs of the cluster, comma-separated').env('LIFEBOAT_ENDPOINTS').default(DEFAULT_ENDPOINT))
    .option('--command-timeout <duration>', 'give up after this long, across retries and endpoints (default 15s)')
    .option('--json', 'print one JSON document on stdout');
}

function clientFor(ctx: ActionContext, flags: ClientFlags): LifeboatClient {
  const deadlineMs = flags.commandTimeout ? parseDuration(flags.commandTimeout, '--command-timeout') : 15_000;
  return new LifeboatClient(parseEndpoints(flags.endpoints), {
    signal: ctx.signal,
    deadlineMs,
    timeoutMs: Math.min(5000, deadlineMs),
  });
}

async function withClient<T>(ctx: ActionContext, flags: ClientFlags, fn: (client: LifeboatClient) => Promise<T>): Promise<T> {
  const client = clientFor(ctx, flags);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

function nonNegativeInt(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${flag}: "${text}" is not a whole number`, `give a number like ${flag} 10`);
  return n;
}

function header(h: ResponseHeader): Record<string, unknown> {
  return { clusterId: h.clusterId, memberId: h.memberId, revision: h.revision, raftTerm: h.raftTerm };
}

/** Text when the bytes are valid UTF-8 (so JSON users can read it); base64 always. */
function bytesJson(name: string, bytes: Buffer): Record<string, string> {
  const text = bytes.toString('utf8');
  const out: Record<string, string> = { [`${name}Base64`]: bytes.toString('base64') };
  if (Buffer.from(text, 'utf8').equals(bytes)) out[name] = text;
  return out;
}

function kvJson(kv: KeyValue): Record<string, unknown> {
  return {
    ...bytesJson('key', kv.key),
    ...bytesJson('value', kv.value),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
  };
}

function memberJson(m: Member): Record<string, unknown> {
  return { id: m.idHex, idDecimal: m.id, name: m.name, started: m.name !== '', peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: m.isLearner };
}

function writeLine(bytes: Buffer | string): void {
  process.stdout.write(bytes);
  process.stdout.write('\n');
}

/** Registers put, get, del, member and endpoint. */
export function registerClientCommands(parent: Command): void {
  addClientOptions(parent.command('put').description('put a key').argument('<key>').argument('<value>'))
    .option('--prev-kv', 'print the previous value')
    .action(action(async (ctx, key: string, value: string, flags: ClientFlags & { prevKv?: boolean }) => {
      const r = await withClient(ctx, flags, (c) => c.put(key, value, { prevKv: flags.prevKv }));
      if (ctx.json) {
        printJson('lifeboat.put/v1', { header: header(r.header), ...(r.prevKv ? { prevKv: kvJson(r.prevKv) } : {}) });
        return;
      }
      writeLine('OK');
      if (r.prevKv) {
        writeLine(r.prevKv.key);
        writeLine(r.prevKv.value);
      }
    }));

  addClientOptions(parent.command('get').description('read a key, a prefix or a range').argument('<key>').argument('[range-end]'))
    .option('--prefix', 'every key that starts with <key>')
    .option('--from-key', 'every key >= <key>')
    .option('--rev <n>', 'read at this revision (default: the current one)')
    .option('--limit <n>', 'at most this many keys')
    .option('--keys-only', 'print keys, not values')
    .option('--count-only', 'print only how many keys match')
    .option('--consistency <l|s>', 'l: linearizable (default); s: serializable, from the member asked', 'l')
    .action(action(async (ctx, key: string, rangeEnd: string | undefined, flags: ClientFlags & {
      prefix?: boolean; fromKey?: boolean; rev?: string; limit?: string; keysOnly?: boolean; countOnly?: boolean; consistency: string;
    }) => {
      if ([flags.prefix, flags.fromKey, rangeEnd !== undefined].filter(Boolean).length > 1) {
        throw new UsageError('get: --prefix, --from-key and [range-end] exclude each other', 'use one of them');
      }
      if (flags.consistency !== 'l' && flags.consistency !== 's') throw new UsageError(`--consistency: "${flags.consistency}" is neither l nor s`, 'use --consistency l or --consistency s');
      const r = await withClient(ctx, flags, (c) => c.range(key, {
        prefix: flags.prefix,
        rangeEnd: flags.fromKey ? Buffer.from([0]) : rangeEnd,
        revision: nonNegativeInt(flags.rev, '--rev'),
        limit: nonNegativeInt(flags.limit, '--limit'),
        keysOnly: flags.keysOnly,
        countOnly: flags.countOnly,
        serializable: flags.consistency === 's',
      }));
      if (ctx.json) {
        printJson('lifeboat.get/v1', { header: header(r.header), count: r.count, more: r.more, kvs: r.kvs.map(kvJson) });
        return;
      }
      if (flags.countOnly) {
        writeLine(String(r.count));
        return;
      }
      for (const kv of r.kvs) {
        writeLine(kv.key);
        if (!flags.keysOnly) writeLine(kv.value);
      }
    }));

  addClientOptions(parent.command('del').description('delete a key, a prefix or a range').argument('<key>').argument('[range-end]'))
    .option('--prefix', 'every key that starts with <key>')
    .option('--from-key', 'every key >= <key>')
    .option('--prev-kv', 'print the deleted pairs')
    .action(action(async (ctx, key: string, rangeEnd: string | undefined, flags: ClientFlags & { prefix?: boolean; fromKey?: boolean; prevKv?: boolean }) => {
      if ([flags.prefix, flags.fromKey, rangeEnd !== undefined].filter(Boolean).length > 1) {
        throw new UsageError('del: --prefix, --from-key and [range-end] exclude each other', 'use one of them');
      }
      const r = await withClient(ctx, flags, (c) => c.deleteRange(key, {
        prefix: flags.prefix,
        rangeEnd: flags.fromKey ? Buffer.from([0]) : rangeEnd,
        prevKv: flags.prevKv,
      }));
      if (ctx.json) {
        printJson('lifeboat.del/v1', { header: header(r.header), deleted: r.deleted, ...(flags.prevKv ? { prevKvs: r.prevKvs.map(kvJson) } : {}) });
        return;
      }
      writeLine(String(r.deleted));
      for (const kv of r.prevKvs) {
        writeLine(kv.key);
        writeLine(kv.value);
      }
    }));

  registerMemberCommands(parent.command('member').description('list, add, remove and promote members'));
  registerEndpointCommands(parent.command('endpoint').description('per-endpoint information'));
}

function memberTable(members: Member[]): string {
  return renderTable(
    ['ID', 'status', 'name', 'peer URLs', 'client URLs', 'learner'],
    members.map((m) => [m.idHex, m.name ? 'started' : 'unstarted', m.name, m.peerURLs.join(','), m.clientURLs.join(','), m.isLearner ? 'true' : 'false']),
  );
}

function registerMemberCommands(member: Command): void {
  addClientOptions(member.command('list').description('list the members'))
    .action(action(async (ctx, flags: ClientFlags) => {
      const r = await withClient(ctx, flags, (c) => c.memberList());
      if (ctx.json) {
        printJson('lifeboat.member-list/v1', { header: header(r.header), members: r.members.map(memberJson) });
        return;
      }
      writeLine(memberTable(r.members));
    }));

  addClientOptions(member.command('add').description('add a member; start it afterwards with the printed settings').argument('<name>'))
    .requiredOption('--peer-urls <urls>', 'the new member\'s peer URLs, comma-separated')
    .option('--learner', 'add it as a learner (promote it once it has caught up)')
    .action(action(async (ctx, name: string, flags: ClientFlags & { peerUrls: string; learner?: boolean }) => {
      const peerURLs = flags.peerUrls.split(',').map((s) => s.trim()).filter(Boolean);
      if (peerURLs.length === 0) throw new UsageError('--peer-urls: no URL given', 'give URLs like http://10.0.0.4:2380');
      const bad = peerURLs.find((u) => !isPeerUrl(u));
      if (bad !== undefined) throw new UsageError(`--peer-urls: ${bad} is not an http://host:port URL`, 'give URLs like http://10.0.0.4:2380');
      const r = await withClient(ctx, flags, (c) => c.memberAdd(peerURLs, flags.learner === true));
      // What the new member needs to join: every member with its name (the new one's is ours to give).
      const initialCluster = r.members
        .flatMap((m) => (m.id === r.member.id ? peerURLs.map((u) => `${name}=${u}`) : m.name ? m.peerURLs.map((u) => `${m.name}=${u}`) : []))
        .join(',');
      if (ctx.json) {
        printJson('lifeboat.member-add/v1', {
          header: header(r.header),
          member: { ...memberJson(r.member), name },
          members: r.members.map(memberJson),
          join: { name, initialCluster, initialAdvertisePeerUrls: peerURLs.join(','), initialClusterState: 'existing' },
        });
        return;
      }
      writeLine(`Member ${r.member.idHex} added to cluster ${BigInt(r.header.clusterId).toString(16).padStart(16, '0')}${r.member.isLearner ? ' as a learner' : ''}`);
      writeLine('');
      writeLine(`LIFEBOAT_NAME="${name}"`);
      writeLine(`LIFEBOAT_INITIAL_CLUSTER="${initialCluster}"`);
      writeLine(`LIFEBOAT_INITIAL_ADVERTISE_PEER_URLS="${peerURLs.join(',')}"`);
      writeLine('LIFEBOAT_INITIAL_CLUSTER_STATE="existing"');
    }));

  addClientOptions(member.command('remove').description('remove a member by ID (hex, as member list prints it)').argument('<id>'))
    .action(action(async (ctx, id: string, flags: ClientFlags) => {
      const r = await withClient(ctx, flags, (c) => c.memberRemove(id));
      if (ctx.json) {
        printJson('lifeboat.member-remove/v1', { header: header(r.header), removed: id, members: r.members.map(memberJson) });
        return;
      }
      writeLine(`Member ${id} removed from cluster ${BigInt(r.header.clusterId).toString(16).padStart(16, '0')}`);
    }));

  addClientOptions(member.command('promote').description('promote a learner to a voting member').argument('<id>'))
    .action(action(async (ctx, id: string, flags: ClientFlags) => {
      const r = await withClient(ctx, flags, (c) => c.memberPromote(id));
      if (ctx.json) {
        printJson('lifeboat.member-promote/v1', { header: header(r.header), promoted: id, members: r.members.map(memberJson) });
        return;
      }
      writeLine(`Member ${id} promoted in cluster ${BigInt(r.header.clusterId).toString(16).padStart(16, '0')}`);
    }));
}

function statusJson(s: StatusResult): Record<string, unknown> {
  return {
    endpoint: s.endpoint,
    id: BigInt(s.header.memberId).toString(16).padStart(16, '0'),
    isLeader: s.leader !== '0' && s.leader === s.header.memberId,
    leader: s.leader === '0' ? null : BigInt(s.leader).toString(16).padStart(16, '0'),
    version: s.version,
    revision: s.header.revision,
    raftTerm: s.raftTerm,
    raftIndex: s.raftIndex,
    raftAppliedIndex: s.raftAppliedIndex,
    dbSize: s.dbSize,
    isLearner: s.isLearner,
    errors: s.errors,
  };
}

function registerEndpointCommands(endpoint: Command): void {
  addClientOptions(endpoint.command('health').description('whether each endpoint has a leader and serves a linearizable read'))
    .action(action(async (ctx, flags: ClientFlags) => {
      const endpoints = parseEndpoints(flags.endpoints);
      const results = await withClient(ctx, flags, (c) => Promise.all(endpoints.map((e) => c.health(e))));
      const healthy = results.filter((r) => r.healthy).length;
      if (healthy === 0) {
        throw new ClusterUnavailableError(
          `endpoint health: no endpoint is healthy (${results.map((r) => `${r.endpoint}: ${r.error}`).join('; ')})`,
          `check that a quorum of members is up and that ${endpoints.join(', ')} are the right endpoints`,
        );
      }
      if (ctx.json) {
        printJson('lifeboat.endpoint-health/v1', { endpoints: results });
      } else {
        for (const r of results) {
          if (r.healthy) writeLine(`${r.endpoint} is healthy: took ${r.tookMs} ms`);
          else log(`${r.endpoint} is unhealthy: ${r.error ?? 'unknown'}`);
        }
      }
      const unhealthy = results.filter((r) => !r.healthy);
      if (unhealthy.length > 0) {
        throw new LifeboatError(
          `endpoint health: ${unhealthy.length} of ${results.length} endpoints unhealthy: ${unhealthy.map((r) => r.endpoint).join(', ')}`,
          'the cluster answers through the others; check those members (lifeboat endpoint status) before they cost the quorum',
        );
      }
      return ExitCode.ok;
    }));

  addClientOptions(endpoint.command('status').description('status of every endpoint: ID, leader, revision, raft term and index, db size'))
    .action(action(async (ctx, flags: ClientFlags) => {
      const endpoints = parseEndpoints(flags.endpoints);
      const results = await withClient(ctx, flags, (c) => Promise.allSettled(endpoints.map((e) => c.status(e))));
      const ok: StatusResult[] = [];
      const failures: { endpoint: string; error: string }[] = [];
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') ok.push(r.value);
        else failures.push({ endpoint: endpoints[i]!, error: r.reason instanceof Error ? r.reason.message : String(r.reason) });
      });
      if (ok.length === 0) {
        throw new ClusterUnavailableError(
          `endpoint status: no endpoint answered (${failures.map((f) => `${f.endpoint}: ${f.error}`).join('; ')})`,
          `check that the members at ${endpoints.join(', ')} are running and reachable; pass the right ones with --endpoints`,
        );
      }
      if (ctx.json) {
        printJson('lifeboat.endpoint-status/v1', { endpoints: ok.map(statusJson), failures });
      } else {
        writeLine(renderTable(
          ['endpoint', 'ID', 'leader', 'revision', 'raft term', 'raft index', 'db size'],
          ok.map((s) => {
            const j = statusJson(s);
            return [s.endpoint, String(j.id), j.isLeader ? 'true' : 'false', s.header.revision, s.raftTerm, s.raftIndex, formatBytes(s.dbSize)];
          }),
        ));
      }
      if (failures.length > 0) {
        throw new LifeboatError(
          `endpoint status: ${failures.length} of ${endpoints.length} endpoints did not answer: ${failures.map((f) => `${f.endpoint}: ${f.error}`).join('; ')}`,
          'the others answered; check that those members are running and reachable',
        );
      }
      return ExitCode.ok;
    }));
}

function isPeerUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && url.port !== '';
  } catch {
    return false;
  }
}
