import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { becomesRefused, freePort, isAlive, START_BOUND_MS, waitFor } from './process-helpers.ts';

/**
 * docs/operations.md (shutdown): on SIGTERM stop accepting, finish requests in flight and the job in hand,
 * close sockets, exit 0 within SHUTDOWN_TIMEOUT_MS — checked over real signals, to node itself and to `npm start`.
 */

interface InFlight {
  /** Sends the rest of the body and resolves with the response's status and body. */
  finish(): Promise<{ status: number; body: string }>;
}

/**
 * A registration whose body has only half arrived: the server has the request (it is not an idle
 * connection), and it completes only when the test sends the rest.
 */
async function startRegistration(port: number): Promise<InFlight> {
  const body = JSON.stringify({
    email: `inflight-${Date.now()}@example.test`,
    password: 'correct horse battery staple',
    name: 'In Flight',
  });
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  const ended = once(socket, 'end');
  const half = Math.floor(body.length / 2);
  // Expect: 100-continue makes node answer "100 Continue" as it hands the request to the app: once that
  // line is back, the request is in hand (not an idle connection), its body half sent.
  socket.write(
    `POST /api/v1/auth/register HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
  );
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (received.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
        received = received.slice('HTTP/1.1 100 Continue\r\n\r\n'.length);
        socket.off('data', check);
        resolve();
      } else if (received.includes('\r\n\r\n')) reject(new Error(`no 100 Continue: ${received}`));
    };
    socket.on('data', check);
    socket.once('end', () => reject(new Error(`closed before 100 Continue: ${received}`)));
  });
  socket.write(body.slice(0, half));
  return {
    async finish() {
      socket.write(body.slice(half));
      await ended;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1]);
      return { status, body: received.slice(received.indexOf('\r\n\r\n') + 4) };
    },
  };
}

function exitOf(child: ChildProcess, withinMs: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no exit within ${withinMs} ms`)), withinMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('graceful shutdown', () => {
  const root = mkdtempSync(join(tmpdir(), 'fulcrum-shutdown-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  function env(port: number, dataDir: string): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME ?? '/tmp',
      PORT: String(port),
      DATA_DIR: dataDir,
      SANDBOX_PORT: 'off',
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '20000',
    };
  }

  it('on SIGTERM node stops accepting, answers the request in flight, and exits 0', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['src/main.ts', 'all'], {
      env: env(port, join(root, 'node')),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      assert.equal((await waitFor(`http://127.0.0.1:${port}/readyz`, START_BOUND_MS)).status, 200);
      const inFlight = await startRegistration(port);
      child.kill('SIGTERM');
      assert.ok(await becomesRefused(port, 10_000), 'new connections are refused after SIGTERM');
      assert.equal(child.exitCode, null, 'the process waits for the request in flight');
      const answer = await inFlight.finish();
      assert.equal(answer.status, 201, answer.body);
      assert.equal((JSON.parse(answer.body) as { user: { name: string } }).user.name, 'In Flight');
      assert.equal(await exitOf(child, 20_000), 0, stderr);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('SIGTERM to `npm start` reaches node: the request in flight is answered, the port closes, npm exits 0', async () => {
    const port = await freePort();
    const dataDir = join(root, 'npm');
    const npm = spawn('npm', ['start'], { env: env(port, dataDir), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    npm.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let nodePid: number | undefined;
    try {
      assert.equal((await waitFor(`http://127.0.0.1:${port}/readyz`, START_BOUND_MS)).status, 200);
      // The embedded database's lock file names the process that serves.
      nodePid = Number(readFileSync(join(dataDir, 'fulcrum.lock'), 'utf8'));
      assert.ok(isAlive(nodePid));
      const inFlight = await startRegistration(port);
      npm.kill('SIGTERM');
      assert.ok(await becomesRefused(port, 10_000), 'the server stops accepting');
      const answer = await inFlight.finish();
      assert.equal(answer.status, 201, answer.body);
      assert.equal(await exitOf(npm, 20_000), 0, stderr);
      assert.equal(isAlive(nodePid), false, 'node is not left behind, orphaned and listening');
      assert.ok(await becomesRefused(port, 1_000));
    } finally {
      npm.kill('SIGKILL');
      if (nodePid !== undefined && isAlive(nodePid)) process.kill(nodePid, 'SIGKILL');
    }
  });
});

describe('the database lost for good', () => {
  it("PGlite's thread dies: the process logs it as fatal, runs its stoppers and exits 1 on its own", async () => {
    const child = spawn(process.execPath, ['test/fixtures/lost-database.ts'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      assert.equal(await exitOf(child, 60_000), 1, stderr);
      const lines = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message: string } });
      // Compared as a set: the logger buffers its lines and flushes a fatal one apart, so they are not written in order.
      const messages = lines.map((line) => line.msg).sort();
      assert.deepEqual(messages, [
        'ending the thread',
        'stopped',
        'stopper ran',
        'the database is lost for good: stopping, exit code 1',
      ]);
      const fatal = lines.find((line) => line.level === 60)!;
      assert.equal(fatal.msg, 'the database is lost for good: stopping, exit code 1');
      assert.match(fatal.err?.message ?? '', /PGlite's thread stopped/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
