import { once } from 'node:events';
import { connect, createServer } from 'node:net';

/** Helpers for tests that run Fulcrum as a real process. */

/**
 * How long a test waits for a Fulcrum process to start before giving up: a guard against a hang, not a
 * target (a cold start on a loaded machine takes tens of seconds; `BENCH_ONLY=startup npm run bench` measures
 * it). Below the suite's 120 s test timeout, so the failure still shows the process's output.
 */
export const START_BOUND_MS = 90_000;

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** Fetches `url` until something answers, retrying refused connections until the deadline. */
export async function waitFor(url: string, deadlineMs: number): Promise<Response> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await fetch(url);
    } catch (error) {
      if (Date.now() > end) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** True when a TCP connection to the port is refused (nothing listens). */
export function isRefused(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') resolve(true);
      // A connection the kernel queued just as the server closed its listening socket is reset: not refused
      // yet, the next attempt tells.
      else if (error.code === 'ECONNRESET') resolve(false);
      else reject(error);
    });
  });
}

/** Polls until connections to the port are refused; false when the deadline passes first. */
export async function becomesRefused(port: number, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await isRefused(port)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
