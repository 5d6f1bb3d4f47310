import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { Logger } from '../../observability/logger.ts';

/** Only this module imports amqplib: domain events out to RabbitMQ for consumers outside Fulcrum. */

export const EXCHANGE = 'fulcrum.events';

/** One outbox message. Consumers deduplicate on the AMQP messageId, which is `id`. */
export interface OutgoingEvent {
  id: number;
  type: string;
  userId: string;
  eventId: number;
  payload: unknown;
}

export interface AmqpPublisher {
  /**
   * Publishes in order and resolves with the ids the broker confirmed: the longest confirmed prefix, so a
   * retry never puts a message after one that followed it. Rejects when the broker cannot be reached.
   */
  publish(events: readonly OutgoingEvent[]): Promise<number[]>;
  close(): Promise<void>;
}

export interface AmqpPublisherOptions {
  url: string;
  logger: Logger;
  /** Tests pass their own to reach the connection. */
  connect?: (url: string) => Promise<ChannelModel>;
  confirmTimeoutMs?: number;
  /** Reconnect backoff bounds. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export function createAmqpPublisher(options: AmqpPublisherOptions): AmqpPublisher {
  const { url, logger } = options;
  const connect =
    options.connect ??
    ((u: string) => amqp.connect(u, { timeout: 5_000, clientProperties: { connection_name: 'fulcrum-relay' } }));
  const confirmTimeoutMs = options.confirmTimeoutMs ?? 10_000;
  const minBackoff = options.minBackoffMs ?? 250;
  const maxBackoff = options.maxBackoffMs ?? 10_000;
  let model: ChannelModel | undefined;
  let channel: ConfirmChannel | undefined;
  let opening: Promise<ConfirmChannel> | undefined;
  let backoff = minBackoff;
  let nextAttemptAt = 0;
  let isClosed = false;

  const reset = (from: ChannelModel | undefined, why: string, error?: unknown) => {
    if (from === undefined || model !== from) return;
    logger.warn({ err: error, why }, 'rabbitmq connection lost: will reconnect');
    model = undefined;
    channel = undefined;
    void abandon(from);
  };

  const open = async (): Promise<ConfirmChannel> => {
    if (Date.now() < nextAttemptAt) throw new Error('rabbitmq: waiting before reconnecting');
    let fresh: ChannelModel | undefined;
    try {
      fresh = await connect(url);
      const m = fresh;
      m.on('error', (error: Error) => reset(m, 'connection error', error));
      m.on('close', (error?: Error) => reset(m, 'connection closed', error));
      const ch = await m.createConfirmChannel();
      ch.on('error', (error: Error) => reset(m, 'channel error', error));
      ch.on('close', () => reset(m, 'channel closed'));
      await ch.assertExchange(EXCHANGE, 'topic', { durable: true });
      if (isClosed) throw new Error('rabbitmq publisher closed');
      model = m;
      channel = ch;
      backoff = minBackoff;
      logger.info('rabbitmq connected');
      return ch;
    } catch (error) {
      nextAttemptAt = Date.now() + backoff;
      backoff = Math.min(backoff * 2, maxBackoff);
      if (fresh !== undefined) void abandon(fresh);
      throw error;
    }
  };

  const ensureChannel = (): Promise<ConfirmChannel> => {
    if (isClosed) return Promise.reject(new Error('rabbitmq publisher closed'));
    if (channel !== undefined) return Promise.resolve(channel);
    opening ??= open().finally(() => (opening = undefined));
    return opening;
  };

  return {
    async publish(events) {
      if (events.length === 0) return [];
      const ch = await ensureChannel();
      const owner = model;
      const answer = await publishAndConfirm(ch, events, confirmTimeoutMs);
      if (answer === 'timeout') {
        reset(owner, 'publisher confirms timed out');
        return [];
      }
      if (answer.confirmed.length < events.length) reset(owner, 'broker refused or lost a message', answer.failure);
      return answer.confirmed;
    },
    async close() {
      isClosed = true;
      const m = model;
      model = undefined;
      channel = undefined;
      await opening?.catch(() => {});
      if (m !== undefined) await abandon(m);
    },
  };
}

/**
 * Publishes each event, persistent, and waits for the broker's confirms: the ids confirmed, in order, up to the
 * first one refused (with why); 'timeout' when the broker went silent for `timeoutMs`.
 */
async function publishAndConfirm(
  ch: ConfirmChannel,
  events: readonly OutgoingEvent[],
  timeoutMs: number,
): Promise<{ confirmed: number[]; failure?: unknown } | 'timeout'> {
  const confirms = events.map(
    (event) =>
      new Promise<number>((resolve, reject) => {
        const body = Buffer.from(JSON.stringify(event));
        ch.publish(
          EXCHANGE,
          event.type,
          body,
          {
            persistent: true,
            messageId: String(event.id),
            type: event.type,
            contentType: 'application/json',
            appId: 'fulcrum',
            timestamp: Math.floor(Date.now() / 1000),
          },
          (error: unknown) => (error === null || error === undefined ? resolve(event.id) : reject(toError(error))),
        );
      }),
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
    timer.unref();
  });
  const settled = await Promise.race([Promise.allSettled(confirms), timeout]);
  clearTimeout(timer);
  if (settled === 'timeout') return 'timeout';
  const confirmed: number[] = [];
  for (const result of settled) {
    if (result.status !== 'fulfilled') break;
    confirmed.push(result.value);
  }
  const failure = settled.find((r) => r.status === 'rejected');
  return { confirmed, failure: failure?.reason };
}

/**
 * Closes a connection, and tears it down when the broker does not answer within a second: amqplib learns
 * of a vanished peer only from the socket or missed heartbeats, and until then its heartbeat timer lives on.
 */
async function abandon(model: ChannelModel): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const answered = await Promise.race([
    model.close().then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 1_000))),
  ]);
  clearTimeout(timer);
  if (answered) return;
  // Not in amqplib's types: the socket under the connection. An error makes amqplib close everything.
  const stream = (model.connection as { stream?: { destroy?: (error: Error) => void } }).stream;
  stream?.destroy?.(new Error('rabbitmq connection abandoned'));
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
