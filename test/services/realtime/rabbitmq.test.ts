import assert from 'node:assert/strict';
import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { appendOutbox } from '../../../src/db/outbox.ts';
import { createAmqpPublisher, EXCHANGE } from '../../../src/modules/events-out/rabbitmq.ts';
import { startOutboxRelay, type OutboxRelay } from '../../../src/modules/realtime/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { systemClock } from '../../../src/shared/clock.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers.ts';
import { append, waitUntil } from '../../realtime/support.ts';
import { SERVICES } from '../support.ts';

// Against RabbitMQ (TEST_AMQP_URL, else the local one).
const AMQP_URL = SERVICES.amqp;
const logger = createLogger('silent');

/**
 * A TCP proxy between the publisher and the broker that the test can cut (every connection reset, new ones
 * refused) and restore, and whose broker → publisher direction it can hold back (confirms sent, not received).
 */
interface BrokerProxy {
  url: string;
  /** Upstream connections made through it. */
  connections(): number;
  /** Connections refused while cut. */
  refused(): number;
  holdReplies(): void;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

async function startBrokerProxy(target: URL): Promise<BrokerProxy> {
  const open = new Set<Socket>();
  let isDown = false;
  let isHolding = false;
  let count = 0;
  let refusedCount = 0;
  const server: Server = createServer((client) => {
    if (isDown) {
      refusedCount += 1;
      client.destroy();
      return;
    }
    const upstream = connectTcp({ host: target.hostname, port: Number(target.port || 5672) });
    count += 1;
    open.add(client).add(upstream);
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (!isHolding) client.write(chunk); // held replies are never delivered: the cut loses them
    });
    const end = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const url = new URL(target.toString());
  url.port = String(port);
  url.hostname = '127.0.0.1';
  return {
    url: url.toString(),
    connections: () => count,
    refused: () => refusedCount,
    holdReplies: () => (isHolding = true),
    cut() {
      isDown = true;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    restore() {
      isHolding = false;
      isDown = false;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

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
    consumer = await amqp.connect(AMQP_URL);
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

  it('the connection to the broker really cut with messages sent but unconfirmed: the same publisher reconnects, nothing is lost', async () => {
    const userId = `usr_amqp_cut_${Date.now()}`;
    const proxy = await startBrokerProxy(new URL(AMQP_URL));
    const publisher = createAmqpPublisher({
      url: proxy.url,
      logger,
      confirmTimeoutMs: 2_000,
      minBackoffMs: 20,
      maxBackoffMs: 200,
    });
    const relay = startOutboxRelay({ database: t.database, logger, clock: systemClock, amqp: publisher, pollMs: 50 });
    const ids: number[] = [];
    const add = async (status: string) => ids.push((await append(t.database, userId, status)).id);
    try {
      await add('CREATED');
      await waitUntil(async () => (await amqpPending(userId)) === 0, 'the first row confirmed through the proxy');

      // The broker's confirms stop reaching the publisher: messages arrive at the queue, their rows stay unmarked.
      proxy.holdReplies();
      // One commit, so one batch: all three are published before the publisher waits for their confirms.
      await t.database.db.transaction().execute(async (trx) => {
        for (let i = 0; i < 3; i++) {
          const payload = { orderId: 'ord_1', status: `HELD_${i}`, paymentStatus: null, at: new Date().toISOString() };
          ids.push((await appendOutbox(trx, { userId, type: 'order.updated', payload })).id);
        }
      });
      const held = ids.slice(1).map(String);
      await waitUntil(
        () => held.every((id) => receivedFor(userId).some((m) => m.properties.messageId === id)),
        'the held messages at the queue',
      );
      assert.equal(await amqpPending(userId), 3, 'sent, not confirmed: not marked');

      // Cut with rows being added on both sides of it; restored once the publisher has tried to reconnect
      // (and was refused) with rows waiting.
      for (let i = 0; i < 3; i++) await add(`BEFORE_CUT_${i}`);
      proxy.cut();
      for (let i = 0; i < 3; i++) await add(`DURING_${i}`);
      await waitUntil(() => proxy.refused() >= 2, 'the publisher to try again while the connection is cut');
      assert.equal(await amqpPending(userId), 9, 'nothing confirmed since the replies were held, nor while cut');
      proxy.restore();
      for (let i = 3; i < 6; i++) await add(`DURING_${i}`);
      await add('AFTER');

      await waitUntil(async () => (await amqpPending(userId)) === 0, 'every amqp_published_at set', 15_000);
      // The broker confirms to the publisher and delivers to this consumer independently: a confirm (and so the
      // mark) can come before the delivery here. Wait for the deliveries, bounded, then say which never came.
      const missing = () => {
        const seen = new Set(receivedFor(userId).map((m) => m.properties.messageId as string));
        return ids.map(String).filter((id) => !seen.has(id));
      };
      const copiesOf = (id: string) => receivedFor(userId).filter((m) => m.properties.messageId === id).length;
      await waitUntil(
        () => missing().length === 0 && held.every((id) => copiesOf(id) >= 2),
        'every message delivered to the bound queue',
        10_000,
      ).catch(() => {});
      const arrived = new Set(receivedFor(userId).map((m) => m.properties.messageId as string));
      assert.deepEqual(
        ids.map(String).filter((id) => !arrived.has(id)),
        [],
        'every messageId reached the bound queue at least once',
      );
      for (const id of held) {
        const copies = copiesOf(id);
        assert.ok(copies >= 2, `unconfirmed ${id} was published again after the reconnect (${copies} copies)`);
      }
      assert.ok(proxy.connections() >= 2, `the publisher reconnected by itself (${proxy.connections()} connections)`);
      const eventIds = [...new Set(receivedFor(userId).map((m) => bodyOf(m).eventId as number))];
      assert.deepEqual(
        eventIds.sort((a, b) => a - b),
        ids.map((_, i) => i + 1),
      );
    } finally {
      await relay.stop();
      await publisher.close();
      await proxy.close();
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
