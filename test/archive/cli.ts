// Running the built CLI (`node bin/lifeboat ...`) from tests, and a fake member that serves
// snapshot streams (whole, cut off mid-way, or refused) without a real cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = resolve(ROOT, 'bin/lifeboat');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI asynchronously (so servers in this process keep answering). */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, cwd = ROOT): Promise<CliResult> {
  return spawnCli(args, env, cwd).done;
}

/** Starts the CLI; `proc` for signals, `done` for the outcome. */
export function spawnCli(args: string[], env: Record<string, string | undefined> = {}, cwd = ROOT): { proc: ChildProcess; done: Promise<CliResult> } {
  if (!existsSync(resolve(ROOT, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` before the CLI tests');
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, LIFEBOAT_REPO: undefined, LIFEBOAT_ENDPOINTS: undefined, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const done = new Promise<CliResult>((done, fail) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
  return { proc: child, done };
}

/** The two lines every failure prints: `lifeboat: ...` and `hint: ...`. */
export function failureLines(r: CliResult): { error: string; hint: string } {
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  const error = lines.find((l) => l.startsWith('lifeboat: ')) ?? '';
  const hint = lines.find((l) => l.startsWith('hint: ')) ?? '';
  return { error, hint };
}

export type FakeMode =
  | { readonly kind: 'serve'; readonly body: () => Readable }
  | { readonly kind: 'cut'; readonly body: () => Readable; readonly afterBytes: number }
  | { readonly kind: 'refuse'; readonly status: number; readonly code: number; readonly message: string }
  /** Sends the first `afterBytes` bytes, then nothing more, keeping the connection open (a hung member). */
  | { readonly kind: 'stall'; readonly body: () => Readable; readonly afterBytes: number };

/** An HTTP server answering POST /v3/maintenance/snapshot the way a member would. */
export async function startFakeMember(mode: () => FakeMode): Promise<{ url: string; requests: () => number; bytesSent: () => number; close: () => Promise<void> }> {
  let requests = 0;
  let bytesSent = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      requests++;
      const m = mode();
      if (req.url !== '/v3/maintenance/snapshot' || m.kind === 'refuse') {
        const body = JSON.stringify(m.kind === 'refuse' ? { error: m.message, message: m.message, code: m.code } : { error: 'not found', code: 5 });
        res.writeHead(m.kind === 'refuse' ? m.status : 404, { 'content-type': 'application/json' });
        res.end(body);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const body = m.body();
      if (m.kind === 'serve') {
        body.pipe(res);
        return;
      }
      if (m.kind === 'stall') {
        void (async () => {
          let sent = 0;
          for await (const chunk of m.body()) {
            const part = (chunk as Buffer).subarray(0, Math.max(0, m.afterBytes - sent));
            if (part.length > 0) res.write(part, () => (bytesSent += part.length));
            sent += part.length;
            if (sent >= m.afterBytes) break;
          }
        })();
        return;
      }
      let sent = 0;
      let cut = false;
      body.on('data', (chunk: Buffer) => {
        if (cut) return; // a destroyed source may still deliver what it had buffered
        if (sent + chunk.length < m.afterBytes) {
          sent += chunk.length;
          if (!res.write(chunk)) body.pause();
          return;
        }
        cut = true;
        body.destroy();
        // A member that dies mid-stream: once the bytes so far are on the wire, the connection drops without a clean end.
        res.write(chunk.subarray(0, m.afterBytes - sent), () => res.socket?.destroy());
      });
      res.on('drain', () => body.resume());
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    bytesSent: () => bytesSent,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}
