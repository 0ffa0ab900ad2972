// The member identity file, <data-dir>/member.json: cluster ID, member ID and name, with a
// CRC so a damaged file is refused rather than silently joining the wrong cluster. Written
// atomically (temporary file, fsync, rename, directory fsync); the server and restore share it.

import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { NodeId } from '../raft/types.js';
import type { FileSystem } from './file-system.js';
import { ensureDir, readWholeFile, writeFileAtomic } from './file-system.js';
import { CorruptionError } from './corruption-error.js';
import { StorageFailedError } from './storage-failed-error.js';

export const IDENTITY_FILE = 'member.json';
const FORMAT = 'lifeboat-member-identity';
const VERSION = 1;

/** Who this data directory belongs to. IDs are 16 lowercase hex digits. */
export interface MemberIdentity {
  readonly clusterId: string;
  readonly memberId: NodeId;
  readonly name: string;
}

/** The checksummed body: fields in a fixed order, so the CRC is reproducible on read. */
function body(id: MemberIdentity): string {
  return JSON.stringify({ format: FORMAT, version: VERSION, clusterId: id.clusterId, memberId: id.memberId, name: id.name });
}

function crcHex(text: string): string {
  return crc32(Buffer.from(text, 'utf8')).toString(16).padStart(8, '0');
}

/** Writes the identity file atomically, creating the data directory if needed. */
export function writeIdentity(fs: FileSystem, dataDir: string, id: MemberIdentity): void {
  const text = body(id);
  const withCrc = text.slice(0, -1) + `,"crc32":"${crcHex(text)}"}\n`;
  try {
    ensureDir(fs, dataDir);
    writeFileAtomic(fs, join(dataDir, IDENTITY_FILE), Buffer.from(withCrc, 'utf8'));
  } catch (err) {
    throw new StorageFailedError('identity file write', err);
  }
}

/** Reads the identity file; undefined if there is none, CorruptionError if it is damaged. */
export function readIdentity(fs: FileSystem, dataDir: string): MemberIdentity | undefined {
  const path = join(dataDir, IDENTITY_FILE);
  if (!fs.stat(path)) return undefined;
  const text = Buffer.from(readWholeFile(fs, path)).toString('utf8');
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new CorruptionError(path, 0, 'the member identity file is not valid JSON');
  }
  const { format, version, clusterId, memberId, name, crc32: crc } = parsed;
  if (format !== FORMAT || version !== VERSION) throw new CorruptionError(path, 0, 'not a Lifeboat member identity file (format or version)');
  if (typeof clusterId !== 'string' || typeof memberId !== 'string' || typeof name !== 'string' || typeof crc !== 'string') {
    throw new CorruptionError(path, 0, 'the member identity file lacks a field');
  }
  const id = { clusterId, memberId, name };
  if (crcHex(body(id)) !== crc) throw new CorruptionError(path, 0, 'the member identity file fails its checksum');
  return id;
}
