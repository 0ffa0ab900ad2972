// Starts a real S3 server (s3rver) as a child process on a free loopback port, for tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

export interface S3Server {
  readonly endpoint: string;
  readonly bucket: string;
  /** Kills the server abruptly (a dying bucket), keeping its data directory. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory after kill(). */
  restart(): Promise<void>;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
}

/** Credentials s3rver accepts; set in the environment so the SDK's default chain finds them. */
export function useS3rverCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  process.env.AWS_REGION = 'us-east-1';
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`s3rver exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (attempt > 600) throw new Error('s3rver did not start listening');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts s3rver with one bucket. */
export async function startS3Server(bucket = 'lifeboat-test'): Promise<S3Server> {
  useS3rverCredentials();
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-s3rver-'));
  const port = await freePort();
  const bin = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js');
  let child: ChildProcess;
  let exited: Promise<void>;
  const start = async () => {
    // s3rver makes list continuation tokens with DES, which OpenSSL 3 only offers through its legacy provider.
    child = spawn(process.execPath, ['--openssl-legacy-provider', bin, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '-s', '--configure-bucket', bucket], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await waitForPort(port, child);
  };
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  await start();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    kill,
    restart: start,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
