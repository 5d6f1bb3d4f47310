import assert from 'node:assert/strict';
import { connect as connectTcp } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  createBroadcaster,
  numberEvents,
  startOutboxRelay,
  type Broadcaster,
} from '../../../src/modules/realtime/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { systemClock } from '../../../src/shared/clock.ts';
import { createUser, startTestApp, type TestApp } from '../../helpers.ts';
import { append, connectClient, type TestClient } from '../../realtime/support.ts';
import { SERVICES } from '../support.ts';

// Against Redis (TEST_REDIS_URL, else the local one).
const REDIS_URL = SERVICES.redis;
const logger = createLogger('silent');

/** Sends one command to Redis over a plain connection and returns the raw answer. */
function redisCommand(command: string): Promise<string> {
  const { hostname, port } = new URL(REDIS_URL);
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: hostname, port: Number(port || 6379) });
    let answer = '';
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (data) => {
      answer += data.toString();
      if (answer.endsWith('\r\n')) {
        socket.end();
        resolve(answer);
      }
    });
    socket.once('error', reject);
  });
}

describe('realtime through Redis: an API node without a relay of its own', () => {
  let app: TestApp;
  let broadcaster: Broadcaster;
  let relay: ReturnType<typeof startOutboxRelay>;
  const clients: TestClient[] = [];
  before(async () => {
    app = await startTestApp({ env: { REDIS_URL } });
    // The worker's side, in this process: a detached Socket.IO server on the adapter.
    broadcaster = createBroadcaster(REDIS_URL, logger);
    relay = startOutboxRelay({
      database: app.database,
      logger,
      clock: systemClock,
      publishToSockets: (events) => broadcaster.publish(events),
      pollMs: 20,
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await relay?.stop();
    await broadcaster?.close();
    await app?.built.realtime.close();
    await app?.close();
  });

  it('gets relayed events only through Redis, and re-reads the outbox when its subscription comes back', async () => {
    const user = await createUser(app);
    const socket = await connectClient(app.baseUrl, { token: user.token });
    clients.push(socket);
    await append(app.database, user.id, 'CREATED');
    await socket.waitFor((r) => r.some((e) => e.data.eventId === 1), 'event 1 through Redis');

    // An event whose Redis message is lost: committed, numbered and marked sent (as the relay does), never delivered.
    await relay.stop();
    await append(app.database, user.id, 'CANCELLED');
    await numberEvents(app.database.db, 100);
    await app.database.db
      .updateTable('outbox')
      .set({ published_at: new Date() })
      .where('user_id', '=', user.id)
      .execute();

    // This process's subscriber connections are cut; on their return the node re-reads the outbox.
    const list = await redisCommand('CLIENT LIST TYPE pubsub');
    const ids = list
      .split('\n')
      .filter((line) => line.includes(`name=fulcrum-socketio-${process.pid}-`))
      .map((line) => /\bid=(\d+)/.exec(line)?.[1]);
    assert.ok(ids.length > 0, 'found the subscriber connections');
    for (const id of ids) await redisCommand(`CLIENT KILL ID ${id}`);
    await socket.waitFor((r) => r.some((e) => e.data.eventId === 2), 'the lost event, read from the outbox');
    assert.deepEqual(
      socket.events().map((e) => [e.data.eventId, e.data.status]),
      [
        [1, 'CREATED'],
        [2, 'CANCELLED'],
      ],
    );
  });
});
