// A repository in a local directory. Every object appears whole or not at all: bytes go to a
// hidden temporary file beside the final name, are fsynced, and are then linked into place
// (link fails if the name exists, so nothing is ever overwritten), and the directory is fsynced
// so the new name survives a crash.
import * as nodeFs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { IntegrityError, NotFoundError, UnsafeOperationError } from '../errors.js';
import { isFsError, mapFsError } from './fs-errors.js';
import { MARKER_KEY, checkMarker, newMarker } from './repo-marker.js';
import type { ObjectInfo, Repository, StagedObject, WriteOptions } from './repository.js';

/** The fs calls this repository makes; tests swap some for failing ones (full disk, EIO). */
export type LocalFs = Pick<
  typeof nodeFs,
  'open' | 'link' | 'rename' | 'unlink' | 'mkdir' | 'readdir' | 'stat' | 'readFile'
>;

export interface LocalRepositoryOptions {
  /** Defaults to node:fs/promises. */
  readonly fs?: LocalFs;
}

/** Temporary files: `.<final name>.partial-<hex>`; never listed, removed by cleanupIncomplete. */
const PARTIAL = /^\..+\.partial-[0-9a-f]+$/;
/** Top-level entries a fresh repository may already hold without being foreign. */
const OWN_ENTRIES = new Set(['snapshots', 'drills', 'locks', MARKER_KEY]);

/** Turns `/path` or `file:///path` into an absolute directory path. */
export function localPathOf(url: string): string {
  if (url.startsWith('file:')) return fileURLToPath(url);
  return resolve(url);
}

/** A Repository rooted at a local directory. */
export class LocalRepository implements Repository {
  readonly url: string;
  readonly root: string;
  private readonly fs: LocalFs;

  constructor(url: string, options: LocalRepositoryOptions = {}) {
    this.root = localPathOf(url);
    this.url = this.root;
    this.fs = options.fs ?? nodeFs;
  }

  async ensureInitialized(): Promise<void> {
    await this.attempt('create the repository directory', () => this.makeDirs(this.root));
    const marker = await this.readOptional(MARKER_KEY);
    if (marker) {
      checkMarker(marker, this.url);
      return;
    }
    const names = await this.attempt('list the repository directory', () => this.fs.readdir(this.root));
    const foreign = names.filter((n) => !n.startsWith('.') && !OWN_ENTRIES.has(n));
    if (foreign.length > 0) {
      throw new UnsafeOperationError(
        `${this.url} is not empty and is not a Lifeboat repository (it holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''})`,
        'point --repo at an existing Lifeboat repository or at a new or empty directory',
      );
    }
    // Two first saves racing: one creates the marker, the other reads it.
    if (!(await this.createExclusive(MARKER_KEY, newMarker()))) {
      checkMarker(await this.readSmall(MARKER_KEY), this.url);
    }
  }

  async checkInitialized(): Promise<void> {
    const info = await this.fs.stat(this.root).catch((err: unknown) => {
      if (isFsError(err) && err.code === 'ENOENT') return undefined;
      throw mapFsError(err, 'open the repository', this.url);
    });
    if (!info) {
      throw new NotFoundError(`no repository at ${this.url}: the directory does not exist`, 'check --repo (or LIFEBOAT_REPO); the first snapshot save creates a repository');
    }
    if (!info.isDirectory()) {
      throw new NotFoundError(`no repository at ${this.url}: it is a file, not a directory`, 'check --repo (or LIFEBOAT_REPO); to read a single snapshot file, pass its path as the snapshot argument');
    }
    const marker = await this.readOptional(MARKER_KEY);
    if (!marker) {
      throw new NotFoundError(`no repository at ${this.url}: ${MARKER_KEY} is missing`, 'check --repo (or LIFEBOAT_REPO); the first snapshot save creates a repository');
    }
    checkMarker(marker, this.url);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    // Walk only the directory the prefix names, not the whole tree.
    const slash = prefix.lastIndexOf('/');
    const startDir = slash >= 0 ? prefix.slice(0, slash) : '';
    const out: ObjectInfo[] = [];
    await this.walk(startDir, async (key, path) => {
      if (!key.startsWith(prefix)) return;
      const st = await this.fs.stat(path).catch(() => undefined);
      if (st?.isFile()) out.push({ key, size: st.size, lastModified: st.mtime });
    });
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const path = this.pathOf(key);
    const st = await this.fs.stat(path).catch((err: unknown) => {
      if (isFsError(err) && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return undefined;
      throw mapFsError(err, `stat ${key}`, this.url);
    });
    if (!st || !st.isFile()) return undefined;
    return { key, size: st.size, lastModified: st.mtime };
  }

  /**
   * mkdir -p, one level at a time: Node 20's mkdir with { recursive: true } never returns on
   * some paths (under /proc), which would hang a cron job instead of failing it.
   */
  private async makeDirs(path: string): Promise<void> {
    const missing: string[] = [];
    for (let dir = path; !(await this.fs.stat(dir).catch(() => undefined)); dir = dirname(dir)) {
      missing.push(dir);
      if (dirname(dir) === dir) break;
    }
    for (const dir of missing.reverse()) {
      await this.fs.mkdir(dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    }
  }

  async read(key: string): Promise<Readable> {
    const handle = await this.attempt(`read ${key}`, () => this.fs.open(this.pathOf(key), 'r'), key);
    return handle.createReadStream({ highWaterMark: 1024 * 1024 });
  }

  async readSmall(key: string): Promise<Buffer> {
    return this.attempt(`read ${key}`, () => this.fs.readFile(this.pathOf(key)), key);
  }

  async writeStream(key: string, body: Readable, options: WriteOptions = {}): Promise<{ bytes: number }> {
    const final = this.pathOf(key);
    await this.requireRoot();
    await this.attempt(`create the folder of ${key}`, () => this.makeDirs(dirname(final)));
    if (await this.stat(key)) {
      body.destroy();
      throw this.exists(key);
    }
    const { signal, onProgress } = options;
    const onAbort = () => body.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.viaTemp(key, async (handle) => {
        let bytes = 0;
        signal?.throwIfAborted();
        for await (const chunk of body) {
          const buf = chunk as Buffer;
          await writeAll(handle, buf);
          bytes += buf.length;
          onProgress?.(bytes);
        }
        signal?.throwIfAborted();
        return { bytes };
      }, 'link');
    } catch (err) {
      body.destroy();
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async writeSmall(key: string, data: Buffer): Promise<void> {
    await this.requireRoot();
    await this.attempt(`create the folder of ${key}`, () => this.makeDirs(dirname(this.pathOf(key))));
    await this.viaTemp(key, (handle) => writeAll(handle, data), 'replace');
  }

  async createExclusive(key: string, data: Buffer): Promise<boolean> {
    await this.requireRoot();
    await this.attempt(`create the folder of ${key}`, () => this.makeDirs(dirname(this.pathOf(key))));
    try {
      await this.viaTemp(key, (handle) => writeAll(handle, data), 'link');
      return true;
    } catch (err) {
      if (err instanceof UnsafeOperationError) return false;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.fs.unlink(this.pathOf(key)).catch((err: unknown) => {
      if (isFsError(err) && err.code === 'ENOENT') return;
      throw mapFsError(err, `delete ${key}`, this.url);
    });
  }

  async compareAndDelete(key: string, expected: Buffer): Promise<boolean> {
    const path = this.pathOf(key);
    // Cheap first look: in the usual case the object already changed and nothing is moved.
    const before = await this.readOptional(key);
    if (!before || !before.equals(expected)) return false;
    // Move it aside atomically, then look at what was moved: only that copy can be compared
    // without another writer changing it under us.
    const aside = this.tempPathOf(path);
    try {
      await this.fs.rename(path, aside);
    } catch (err) {
      if (isFsError(err) && err.code === 'ENOENT') return false;
      throw mapFsError(err, `delete ${key}`, this.url);
    }
    try {
      const moved = await this.attempt(`read ${key}`, () => this.fs.readFile(aside));
      if (moved.equals(expected)) {
        await this.syncDir(dirname(path), key);
        return true;
      }
      // Another run replaced it between our two reads: put its object back. If yet another
      // object took the name meanwhile, the one we moved is lost, and its holder learns so when
      // it next checks (a lock's renewal), as it would after any takeover.
      await this.linkNoReplace(aside, path, key).catch((err: unknown) => {
        if (!(err instanceof UnsafeOperationError)) throw err;
      });
      return false;
    } finally {
      await this.fs.unlink(aside).catch(() => undefined);
    }
  }

  async stage(key: string): Promise<StagedObject> {
    const final = this.pathOf(key);
    const dir = dirname(final);
    await this.requireRoot();
    await this.attempt(`create the folder of ${key}`, () => this.makeDirs(dir));
    const temp = this.tempPathOf(final);
    const handle = await this.attempt(`create a temporary file for ${key}`, () => this.fs.open(temp, 'wx', 0o644));
    await handle.close();
    const discard = () => this.fs.unlink(temp).then(() => undefined, () => undefined);
    return {
      path: temp,
      discard,
      publish: async () => {
        try {
          const file = await this.attempt(`open ${key}`, () => this.fs.open(temp, 'r+'));
          try {
            await this.attempt(`flush ${key} to disk`, () => file.sync());
          } finally {
            await file.close().catch(() => undefined);
          }
          await this.linkNoReplace(temp, final, key);
          await this.fs.unlink(temp).catch(() => undefined);
          await this.syncDir(dir, key);
        } catch (err) {
          await discard();
          throw mapFsError(err, `write ${key}`, this.url);
        }
      },
    };
  }

  async cleanupIncomplete(olderThan: Date): Promise<number> {
    let removed = 0;
    await this.walk('', async (_key, path) => {
      if (!PARTIAL.test(basename(path))) return;
      const st = await this.fs.stat(path).catch(() => undefined);
      if (!st || st.mtime >= olderThan) return;
      await this.fs.unlink(path).then(() => removed++, () => undefined);
    }, true);
    return removed;
  }

  /**
   * Writes through `.<name>.partial-<hex>`: fill, fsync, close, then link (refusing an existing
   * name) or rename (replacing it), then fsync the directory. The temp file never outlives a failure.
   */
  private async viaTemp<T>(key: string, fill: (handle: FileHandle) => Promise<T>, mode: 'link' | 'replace'): Promise<T> {
    const final = this.pathOf(key);
    const dir = dirname(final);
    const temp = this.tempPathOf(final);
    const handle = await this.attempt(`create a temporary file for ${key}`, () => this.fs.open(temp, 'wx', 0o644));
    let closed = false;
    try {
      const result = await fill(handle);
      await this.attempt(`flush ${key} to disk`, () => handle.sync());
      closed = true;
      await this.attempt(`close ${key}`, () => handle.close());
      if (mode === 'replace') {
        await this.attempt(`rename ${key} into place`, () => this.fs.rename(temp, final));
      } else {
        await this.linkNoReplace(temp, final, key);
        await this.fs.unlink(temp).catch(() => undefined);
      }
      await this.syncDir(dir, key);
      return result;
    } catch (err) {
      if (!closed) await handle.close().catch(() => undefined);
      await this.fs.unlink(temp).catch(() => undefined);
      throw mapFsError(err, `write ${key}`, this.url);
    }
  }

  /** A fresh `.<name>.partial-<hex>` beside `final`: never listed, removed by cleanupIncomplete. */
  private tempPathOf(final: string): string {
    return join(dirname(final), `.${basename(final)}.partial-${randomBytes(6).toString('hex')}`);
  }

  private async linkNoReplace(temp: string, final: string, key: string): Promise<void> {
    try {
      await this.fs.link(temp, final);
    } catch (err) {
      if (!isFsError(err)) throw err;
      if (err.code === 'EEXIST') throw this.exists(key);
      // Some file systems (FUSE, vfat, some network mounts) have no hard links: check, then rename.
      if (err.code !== 'ENOTSUP' && err.code !== 'EOPNOTSUPP' && err.code !== 'ENOSYS' && err.code !== 'EPERM') throw err;
      if (await this.stat(key)) throw this.exists(key);
      await this.fs.rename(temp, final);
    }
  }

  private async syncDir(dir: string, key: string): Promise<void> {
    const handle = await this.attempt(`open the folder of ${key}`, () => this.fs.open(dir, 'r'));
    try {
      await handle.sync().catch((err: unknown) => {
        // Some file systems refuse fsync on a directory; the rename itself already happened.
        if (isFsError(err) && (err.code === 'EINVAL' || err.code === 'EISDIR' || err.code === 'EBADF')) return;
        throw err;
      });
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  private exists(key: string): UnsafeOperationError {
    return new UnsafeOperationError(`${key} already exists in ${this.url}; refusing to overwrite it`, 'objects in a repository are never overwritten; run the command again for a new snapshot ID');
  }

  private async requireRoot(): Promise<void> {
    const st = await this.fs.stat(this.root).catch((err: unknown) => {
      throw mapFsError(err, 'open the repository', this.url);
    });
    if (!st.isDirectory()) throw new NotFoundError(`no repository at ${this.url}: it is not a directory`, 'check --repo (or LIFEBOAT_REPO)');
  }

  private async readOptional(key: string): Promise<Buffer | undefined> {
    return this.fs.readFile(this.pathOf(key)).catch((err: unknown) => {
      if (isFsError(err) && err.code === 'ENOENT') return undefined;
      throw mapFsError(err, `read ${key}`, this.url);
    });
  }

  /** Runs an fs call, mapping its errors; with `missingKey`, ENOENT names that object. */
  private async attempt<T>(action: string, fn: () => Promise<T>, missingKey?: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (missingKey !== undefined && isFsError(err) && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) {
        throw new NotFoundError(`${missingKey} not found in ${this.url}`, 'check the snapshot ID (lifeboat snapshot list) and --repo', { cause: err });
      }
      throw mapFsError(err, action, this.url);
    }
  }

  /** Calls `visit` for every file under `dir` (relative key, '/' separated); partial files only when asked. */
  private async walk(dir: string, visit: (key: string, path: string) => Promise<void>, includePartial = false): Promise<void> {
    const abs = dir ? this.pathOf(dir) : this.root;
    const entries = await this.fs.readdir(abs, { withFileTypes: true }).catch((err: unknown) => {
      if (isFsError(err) && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return [];
      throw mapFsError(err, `list ${dir || 'the repository'}`, this.url);
    });
    for (const entry of entries) {
      const key = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        await this.walk(key, visit, includePartial);
      } else if (entry.isFile() && (includePartial ? PARTIAL.test(entry.name) : !entry.name.startsWith('.'))) {
        await visit(key, join(abs, entry.name));
      }
    }
  }

  /** The absolute path of a key; refuses keys that would escape the repository. */
  private pathOf(key: string): string {
    const path = resolve(this.root, ...key.split('/'));
    const rel = relative(this.root, path);
    if (key === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) {
      throw new IntegrityError(`object key ${JSON.stringify(key)} points outside the repository`, 'this is a bug or a hostile manifest; report it');
    }
    return path;
  }
}

async function writeAll(handle: FileHandle, buf: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buf.length) {
    const { bytesWritten } = await handle.write(buf, offset, buf.length - offset);
    offset += bytesWritten;
  }
}
