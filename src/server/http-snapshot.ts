// /v3/maintenance/snapshot: the snapshot format as application/octet-stream. An error before the
// first byte is answered in etcd's JSON error shape; after it, the response is destroyed so the
// client sees a truncated chunked stream (never a clean end that could pass for a whole snapshot).
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { MemberService } from './member-service.js';
import { MessageSchema, bool, parseBody } from './http-json.js';
import { errorResponse } from './http-errors.js';

const SNAPSHOT = new MessageSchema('etcdserverpb.SnapshotRequest', ['serializable']);

/** Answers one snapshot request whose body has been read. */
export function streamSnapshot(
  member: MemberService,
  text: string,
  res: ServerResponse,
  log: (line: string) => void,
): void {
  const controller = new AbortController();
  let source: Readable | undefined;
  // The client going away releases the member's read view, whether or not the member watches the signal.
  const onClose = () => {
    if (res.writableFinished) return;
    controller.abort(new Error('client went away'));
    source?.destroy();
  };
  res.on('close', onClose);
  void run().catch((err) => {
    if (!res.headersSent) {
      const { status, body } = errorResponse(err);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } else {
      if (!controller.signal.aborted) log(`lifeboat: snapshot stream failed mid-way: ${err instanceof Error ? err.message : String(err)}`);
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  });

  async function run(): Promise<void> {
    const serializable = bool(SNAPSHOT.read(parseBody(text)), 'serializable');
    const { header, stream } = await member.openSnapshot({ serializable }, controller.signal);
    source = stream;
    if (controller.signal.aborted) {
      stream.destroy();
      return;
    }
    const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    try {
      // Hold the status line until the first bytes exist, so an immediate failure still gets the JSON shape.
      let next = await iterator.next();
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'x-lifeboat-revision': String(header.revision),
        'x-lifeboat-raft-index': String(header.raftIndex),
      });
      while (!next.done) {
        if (!res.write(next.value)) {
          await new Promise<void>((resolve, reject) => {
            const cleanup = () => {
              res.off('drain', onDrain);
              res.off('close', onGone);
            };
            const onDrain = () => { cleanup(); resolve(); };
            const onGone = () => { cleanup(); reject(new Error('client went away')); };
            res.on('drain', onDrain);
            res.on('close', onGone);
          });
        }
        next = await iterator.next();
      }
      res.end();
    } finally {
      if (!res.writableFinished) stream.destroy();
    }
  }
}
