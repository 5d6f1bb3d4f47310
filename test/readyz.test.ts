import assert from 'node:assert/strict';
import { once } from 'node:events';
import { get } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { openDatabase, type Database } from '../src/db/database.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { closedPort, startPgStandIn, type PgStandIn } from './pg-standin.ts';

/**
 * GET on a connection of its own: the waits in these tests (a PGlite start blocks the event loop for seconds)
 * outlast the server's keep-alive, and a reused connection closing under the request would fail it.
 */
async function probe(app: TestApp, path: string): Promise<{ status: number; body: unknown }> {
  const res = get(`${app.baseUrl}${path}`, { agent: false });
  const [response] = (await once(res, 'response')) as [import('node:http').IncomingMessage];
  let text = '';
  for await (const chunk of response) text += String(chunk);
  return { status: response.statusCode ?? 0, body: JSON.parse(text) };
}

// /readyz over a real PostgreSQL client (pg's pool) pointed at an address whose server comes and goes.
describe('/readyz follows the database', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  const appOn = async (url: string): Promise<{ app: TestApp; database: Database }> => {
    // The stand-in gives every connection one shared session, which PostgreSQL never does: no named statements.
    const database = await openDatabase({ url, dataDir: '', preparedStatements: false });
    cleanups.push(() => database.close());
    const app = await startTestApp({ database });
    cleanups.push(() => app.close());
    return { app, database };
  };

  it('503 while PostgreSQL refuses connections, 200 once it answers, 503 again when it goes away', async () => {
    const port = await closedPort();
    const { app } = await appOn(`postgres://postgres@127.0.0.1:${port}/postgres`);

    const refused = await probe(app, '/readyz');
    assert.equal(refused.status, 503);
    assert.deepEqual(refused.body, { status: 'unavailable' });
    // Liveness does not depend on the database: the process runs, it is only not ready.
    assert.equal((await probe(app, '/healthz')).status, 200);

    const server: PgStandIn = await startPgStandIn(port);
    cleanups.push(() => server.close());
    const answering = await probe(app, '/readyz');
    assert.equal(answering.status, 200);
    assert.deepEqual(answering.body, { status: 'ready' });

    await server.stop();
    assert.equal((await probe(app, '/readyz')).status, 503);
    await server.start();
    assert.equal((await probe(app, '/readyz')).status, 200);
  });

  it('503 (not a hanging probe) when the server keeps its connections but stops answering', async () => {
    const server = await startPgStandIn();
    cleanups.push(() => server.close());
    const { app } = await appOn(server.url);
    assert.equal((await probe(app, '/readyz')).status, 200);
    // The pool's connection stays open and its query is never answered: only the probe's own bound ends it.
    server.freeze();
    const res = await probe(app, '/readyz');
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, { status: 'unavailable' });
    await server.stop();
  });

  it('503 (not a hanging probe) when the server accepts connections but never answers', async () => {
    const silent = createServer((socket: Socket) => {
      silentSockets.add(socket);
      socket.on('error', () => {});
    });
    const silentSockets = new Set<Socket>();
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    cleanups.push(async () => {
      for (const s of silentSockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const { port } = silent.address() as { port: number };
    const { app } = await appOn(`postgres://postgres@127.0.0.1:${port}/postgres`);
    const res = await probe(app, '/readyz');
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, { status: 'unavailable' });
    assert.ok(silentSockets.size > 0, 'the probe did reach the silent server');
  });
});
