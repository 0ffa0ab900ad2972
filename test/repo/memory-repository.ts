// An in-memory Repository for tests of logic that sits on the interface (locks, retention plans).
// The real backends have their own tests against real directories and a real S3 server.
import { Readable } from 'node:stream';
import { NotFoundError } from '../../src/errors.js';
import type { ObjectInfo, Repository } from '../../src/repo/repository.js';

export class MemoryRepository implements Repository {
  readonly url = 'memory://test';
  readonly objects = new Map<string, { data: Buffer; lastModified: Date }>();

  async ensureInitialized(): Promise<void> {}
  async checkInitialized(): Promise<void> {}
  async list(prefix: string): Promise<ObjectInfo[]> {
    return [...this.objects.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, o]) => ({ key, size: o.data.length, lastModified: o.lastModified }))
      .sort((a, b) => (a.key < b.key ? -1 : 1));
  }
  async stat(key: string): Promise<ObjectInfo | undefined> {
    const o = this.objects.get(key);
    return o && { key, size: o.data.length, lastModified: o.lastModified };
  }
  async read(key: string): Promise<Readable> {
    return Readable.from([await this.readSmall(key)]);
  }
  async readSmall(key: string): Promise<Buffer> {
    const o = this.objects.get(key);
    if (!o) throw new NotFoundError(`${key} not found`, 'check the key');
    return o.data;
  }
  async writeStream(key: string, body: Readable): Promise<{ bytes: number }> {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    await this.writeSmall(key, Buffer.concat(chunks));
    return { bytes: this.objects.get(key)!.data.length };
  }
  async writeSmall(key: string, data: Buffer): Promise<void> {
    this.objects.set(key, { data, lastModified: new Date() });
  }
  async createExclusive(key: string, data: Buffer): Promise<boolean> {
    if (this.objects.has(key)) return false;
    await this.writeSmall(key, data);
    return true;
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
  async compareAndDelete(key: string, expected: Buffer): Promise<boolean> {
    if (!this.objects.get(key)?.data.equals(expected)) return false;
    this.objects.delete(key);
    return true;
  }
  async cleanupIncomplete(): Promise<number> {
    return 0;
  }
}
