import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAmqpPublisher } from '../../src/modules/events-out/rabbitmq.ts';
import { startOutboxRelay } from '../../src/modules/realtime/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { createTestDatabase, type TestDatabase } from '../helpers.ts';
import { append, waitUntil } from './support.ts';

// AMQP_URL set, but nothing listens there: no broker needed. What a reachable broker then receives is tested
// in test/services/realtime/rabbitmq.test.ts.
const logger = createLogger('silent');

describe('outbox relay while the RabbitMQ broker cannot be reached', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.drop());

  it('sockets still get their events, and the rows wait for a broker confirm', async () => {
    const userId = 'usr_amqp_down';
    const publisher = createAmqpPublisher({ url: 'amqp://guest:guest@127.0.0.1:1', logger, minBackoffMs: 10 });
    const toSockets: number[] = [];
    const relay = startOutboxRelay({
      database: t.database,
      logger,
      clock: systemClock,
      amqp: publisher,
      publishToSockets: (events) => toSockets.push(...events.filter((e) => e.userId === userId).map((e) => e.eventId)),
      pollMs: 50,
    });
    try {
      await append(t.database, userId, 'CREATED');
      await append(t.database, userId, 'CANCELLED');
      await waitUntil(() => toSockets.length === 2, 'the socket sink');
      await relay.drain();
      assert.deepEqual(toSockets, [1, 2]);
      const waiting = await t.database.db
        .selectFrom('outbox')
        .select(['event_id', 'published_at', 'amqp_published_at'])
        .where('user_id', '=', userId)
        .orderBy('id')
        .execute();
      assert.deepEqual(
        waiting.map((r) => [Number(r.event_id), r.published_at !== null, r.amqp_published_at]),
        [
          [1, true, null],
          [2, true, null],
        ],
        'marked for the sockets, not for RabbitMQ',
      );
    } finally {
      await relay.stop();
      await publisher.close();
    }
  });
});
