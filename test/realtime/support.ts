import { io as connect, type Socket } from 'socket.io-client';
import type { Database } from '../../src/db/database.ts';
import { appendOutbox } from '../../src/db/outbox.ts';
import { startOutboxRelay, type OutboxRelay } from '../../src/modules/realtime/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { startTestApp, type TestApp } from '../helpers.ts';

/** Realtime tests: clients, an app with its relay, outbox rows. (Server databases: test/services/support.ts.) */

export interface RealtimeTestApp extends TestApp {
  relay: OutboxRelay;
}

/** The test app with its outbox relay publishing to its own sockets, as `npm start` runs it. */
export async function startRealtimeApp(env: Record<string, string> = {}): Promise<RealtimeTestApp> {
  const app = await startTestApp({ env });
  const relay = startOutboxRelay({
    database: app.database,
    logger: createLogger('silent'),
    clock: systemClock,
    publishToSockets: (events, staff) => app.built.realtime.publish(events, staff),
  });
  return {
    ...app,
    relay,
    async close() {
      await relay.stop();
      await app.built.realtime.close();
      await app.close();
    },
  };
}

export interface Received {
  name: string;
  data: Record<string, unknown>;
}

export interface TestClient {
  socket: Socket;
  /** Every server event, in arrival order. */
  received: Received[];
  /** Outbox events only (order.updated / payment.updated). */
  events(): Received[];
  waitFor(check: (received: Received[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): void;
}

export interface ClientOptions {
  token?: string;
  lastEventId?: unknown;
  origin?: string;
  auth?: Record<string, unknown>;
}

function open(baseUrl: string, options: ClientOptions): Socket {
  const auth = options.auth ?? {
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.lastEventId === undefined ? {} : { lastEventId: options.lastEventId }),
  };
  return connect(baseUrl, {
    path: '/socket.io',
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth,
    ...(options.origin === undefined ? {} : { extraHeaders: { origin: options.origin } }),
  });
}

/** Connects and resolves once the server said `session.ready` (replay, if any, done). */
export async function connectClient(baseUrl: string, options: ClientOptions): Promise<TestClient> {
  const socket = open(baseUrl, options);
  const received: Received[] = [];
  socket.onAny((name: string, data: Record<string, unknown>) => received.push({ name, data }));
  const client: TestClient = {
    socket,
    received,
    events: () => received.filter((r) => r.name === 'order.updated' || r.name === 'payment.updated'),
    waitFor: (check, what, timeoutMs = 10_000) => waitUntil(() => check(received), what, timeoutMs),
    close: () => socket.close(),
  };
  const failed = new Promise<never>((_, reject) =>
    socket.once('connect_error', (error) => reject(new Error(`connect_error: ${error.message}`))),
  );
  await Promise.race([client.waitFor((r) => r.some((x) => x.name === 'session.ready'), 'session.ready'), failed]);
  return client;
}

/** Connects expecting a refusal; resolves with the connect_error. */
export function connectError(baseUrl: string, options: ClientOptions): Promise<Error & { data?: { code?: string } }> {
  const socket = open(baseUrl, options);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no connect_error within 10 s')), 10_000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.close();
      reject(new Error('connected, but a refusal was expected'));
    });
    socket.once('connect_error', (error) => {
      clearTimeout(timer);
      socket.close();
      resolve(error);
    });
  });
}

/** Polls `check` until true; fails with `what` after the bound. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Acknowledged emit. */
export function emitWithAck(socket: Socket, event: string, payload: unknown): Promise<unknown> {
  return socket.timeout(10_000).emitWithAck(event, payload);
}

/** An order.updated outbox row for a user, committed in a transaction of its own. */
export async function append(database: Database, userId: string, status: string, orderId = 'ord_1') {
  return database.db.transaction().execute((trx) =>
    appendOutbox(trx, {
      userId,
      type: 'order.updated',
      payload: { orderId, status, paymentStatus: null, at: new Date().toISOString() },
    }),
  );
}

/** Rows the Socket.IO sink has not published. */
export async function unpublished(database: Database): Promise<number> {
  const row = await database.db
    .selectFrom('outbox')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('published_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
