import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { appendOutbox } from '../../src/db/outbox.ts';
import { createAmqpPublisher, EXCHANGE } from '../../src/modules/events-out/rabbitmq.ts';
import { startOutboxRelay, type OutboxRelay } from '../../src/modules/realtime/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { createTestDatabase, type TestDatabase } from '../helpers.ts';
import { append, waitUntil } from './support.ts';

// Against the local RabbitMQ (CI runs one); unreachable, these fail rather than skip.
const AMQP_URL = process.env.TEST_AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
const logger = createLogger('silent');

describe('outbox relay to RabbitMQ', () => {
  let t: TestDatabase;
  let consumer: ChannelModel;
  let channel: Channel;
  const received: ConsumeMessage[] = [];
  const bodyOf = (m: ConsumeMessage) => JSON.parse(m.content.toString()) as Record<string, unknown>;
  const receivedFor = (userId: string) => received.filter((m) => bodyOf(m).userId === userId);
  const amqpPending = async (userId: string) => {
    const rows = await t.database.db
      .selectFrom('outbox')
      .select('id')
      .where('user_id', '=', userId)
      .where('amqp_published_at', 'is', null)
      .execute();
    return rows.length;
  };

  before(async () => {
    t = await createTestDatabase();
    try {
      consumer = await amqp.connect(AMQP_URL);
    } catch (error) {
      throw new Error(`this test needs RabbitMQ at ${AMQP_URL}: ${String(error)}`, { cause: error });
    }
    channel = await consumer.createChannel();
    await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, EXCHANGE, '#');
    await channel.consume(queue, (m) => m !== null && received.push(m), { noAck: true });
  });
  after(async () => {
    await consumer?.close();
    await t.drop();
  });

  it('publishes every event to the durable topic exchange, persistent, keyed by type, with the outbox id', async () => {
    const userId = `usr_amqp_${Date.now()}`;
    const models: ChannelModel[] = [];
    const publisher = createAmqpPublisher({
      url: AMQP_URL,
      logger,
      connect: async (url) => {
        const m = await amqp.connect(url);
        models.push(m);
        return m;
      },
      minBackoffMs: 10,
    });
    const relay = startOutboxRelay({ database: t.database, logger, clock: systemClock, amqp: publisher, pollMs: 50 });
    try {
      const first = await append(t.database, userId, 'CREATED');
      const second = await t.database.db.transaction().execute((trx) =>
        appendOutbox(trx, {
          userId,
          type: 'payment.updated',
          payload: { paymentId: 'pay_1', orderId: 'ord_1', status: 'PENDING', at: new Date().toISOString() },
        }),
      );
      await waitUntil(() => receivedFor(userId).length >= 2, 'two messages at the test queue');
      const [m1, m2] = receivedFor(userId);
      assert.equal(m1!.fields.routingKey, 'order.updated');
      assert.equal(m2!.fields.routingKey, 'payment.updated');
      assert.equal(m1!.properties.messageId, String(first.id));
      assert.equal(m2!.properties.messageId, String(second.id));
      assert.equal(m1!.properties.deliveryMode, 2, 'persistent');
      assert.equal(m1!.properties.contentType, 'application/json');
      assert.deepEqual(bodyOf(m2!), {
        id: second.id,
        type: 'payment.updated',
        userId,
        eventId: 2,
        payload: bodyOf(m2!).payload,
      });
      assert.equal((bodyOf(m2!).payload as { status: string }).status, 'PENDING');
      await waitUntil(async () => (await amqpPending(userId)) === 0, 'rows marked after the broker confirmed');

      // The connection dies under the publisher (as a reset by the broker's host would): later events still
      // arrive, after a reconnect.
      (models[0]!.connection as unknown as { stream: Socket }).stream.destroy(new Error('ECONNRESET (simulated)'));
      await append(t.database, userId, 'PAID');
      await append(t.database, userId, 'SHIPPED');
      await waitUntil(() => receivedFor(userId).length >= 4, 'the events after the connection loss');
      assert.ok(models.length >= 2, 'the publisher reconnected');
      const eventIds = [...new Set(receivedFor(userId).map((m) => bodyOf(m).eventId))];
      assert.deepEqual(eventIds, [1, 2, 3, 4]);
      await waitUntil(async () => (await amqpPending(userId)) === 0, 'every row marked');
    } finally {
      await relay.stop();
      await publisher.close();
    }
  });

  it('a connection that goes silent is given up after the confirm timeout and replaced', async () => {
    const userId = `usr_amqp_silent_${Date.now()}`;
    const models: ChannelModel[] = [];
    const publisher = createAmqpPublisher({
      url: AMQP_URL,
      logger,
      connect: async (url) => {
        const m = await amqp.connect(url);
        models.push(m);
        return m;
      },
      confirmTimeoutMs: 300,
      minBackoffMs: 10,
    });
    const relay = startOutboxRelay({ database: t.database, logger, clock: systemClock, amqp: publisher, pollMs: 50 });
    try {
      await append(t.database, userId, 'CREATED');
      await waitUntil(() => receivedFor(userId).length >= 1, 'the first message');
      // The broker goes quiet: nothing more is read from the connection, so no confirm ever arrives.
      (models[0]!.connection as unknown as { stream: Socket }).stream.removeAllListeners('readable');
      await append(t.database, userId, 'CANCELLED');
      // Its confirm never comes: the row is marked only once a new connection has published it again.
      await waitUntil(async () => (await amqpPending(userId)) === 0, 'the row confirmed over a new connection');
      assert.ok(models.length >= 2, 'a new connection was made');
      const ids = receivedFor(userId).map((m) => m.properties.messageId as string);
      assert.equal(new Set(ids).size, 2, 'two distinct messages (a repeat carries the same messageId)');
    } finally {
      await relay.stop();
      await publisher.close();
    }
  });

  it('while the broker cannot be reached, sockets still get their events and the rows wait for RabbitMQ', async () => {
    const userId = `usr_amqp_down_${Date.now()}`;
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
      assert.equal(await amqpPending(userId), 2, 'not marked without a broker confirm');
    } finally {
      await relay.stop();
      await publisher.close();
    }
    // A relay with a reachable broker later publishes what waited.
    const working = createAmqpPublisher({ url: AMQP_URL, logger });
    const later: OutboxRelay = startOutboxRelay({ database: t.database, logger, clock: systemClock, amqp: working });
    try {
      await waitUntil(() => receivedFor(userId).length >= 2, 'the waiting rows at the broker');
      await waitUntil(async () => (await amqpPending(userId)) === 0, 'marked once confirmed');
    } finally {
      await later.stop();
      await working.close();
    }
  });
});
