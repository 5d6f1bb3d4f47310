import type { Server as HttpServer } from 'node:http';
import { Server, type DefaultEventsMap, type Socket } from 'socket.io';
import { z } from 'zod';
import type { Database } from '../../db/database.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { Clock } from '../../shared/clock.ts';
import { stringProblem } from '../../http/input-guard.ts';
import { requestIdFor } from '../../http/request-id.ts';
import { AppError } from '../../shared/errors.ts';
import { can, type TokenService } from '../auth/index.ts';
import { findVisibleOrder } from '../orders/index.ts';
import { createConnectionHub, type Connection, type ConnectionHub } from './connections.ts';
import { RELAYED, relayedEventsSchema, STAFF_FEED, type RealtimeEvent } from './events.ts';
import { allowedOrigins, closeAtExpiry, connectionCounter, handshakeGate, type Session } from './handshake.ts';
import { registerRealtimeMetrics } from './realtime.metrics.ts';
import { connectRedis, type RedisLink } from './redis.ts';
import { lastUserEventId, listStaffEventsAfter, listUserEventsAfter } from './realtime.repository.ts';
import { attachStaffFeed, STAFF_NAMESPACE } from './staff-feed.ts';

/** The settings realtime reads (src/config.ts names them; they are passed in, never imported). */
export interface RealtimeSettings {
  readonly CORS_ORIGINS: readonly string[];
  readonly PUBLIC_URL: string;
  readonly REDIS_URL?: string | undefined;
  readonly AMQP_URL?: string | undefined;
}

export interface RealtimeDeps {
  config: RealtimeSettings;
  database: Database;
  logger: Logger;
  clock: Clock;
  tokens: TokenService;
  /** The app's registry: outbox lag and socket count are added to /metrics. */
  metrics?: Metrics;
}

export interface Realtime {
  io: Server;
  hub: ConnectionHub;
  /**
   * The relay's Socket.IO sink: delivers to this node's sockets and, with Redis, to every other node's.
   * Throws, delivering nothing, while Redis is down, so the relay keeps the rows for later.
   */
  publish(events: readonly RealtimeEvent[], staff?: readonly RealtimeEvent[]): void;
  /** Disconnects every socket of this user, on every node (through Redis when configured): a disabled account. */
  disconnectUser(userId: string): void;
  /** New sockets are refused from here on. */
  beginShutdown(): void;
  /** Disconnects this node's sockets and leaves Redis; the HTTP server is left to its owner. */
  close(): Promise<void>;
}

const MAX_FOLLOWED_ORDERS = 1_000;
/** Each order:subscribe costs a database read: a socket gets this many a second. */
const SUBSCRIBES_PER_SECOND = 20;
/** Sockets one user may hold open on one node; the next handshake is refused with too_many_connections. */
export const MAX_CONNECTIONS_PER_USER = 20;
/** Messages of any kind one socket may send in a second; past it the server disconnects the socket. */
export const MESSAGES_PER_SECOND = 100;
/** Largest message (and handshake) Socket.IO accepts; a bigger one closes the connection. */
export const MAX_MESSAGE_BYTES = 16 * 1024;

type SocketData = Session;
type InterServerEvents = { [RELAYED]: (events: unknown) => void };
type FulcrumSocket = Socket<DefaultEventsMap, DefaultEventsMap, InterServerEvents, SocketData>;

const subscribeSchema = z.strictObject({
  // NUL and lone surrogates never reach the database (PostgreSQL refuses NUL): validation_failed, like HTTP.
  orderId: z
    .string()
    .min(1)
    .max(100)
    .refine((id) => stringProblem(id) === undefined),
});
type Ack = (reply: { ok: true } | { ok: false; error: string }) => void;

/**
 * Socket.IO on `server` at /socket.io (or, without a server, a detached instance a worker emits through).
 * Only this module imports socket.io.
 */
// eslint-disable-next-line max-lines-per-function -- over 80 lines; to split (issue 14, point 5)
export function createRealtime(server: HttpServer | undefined, deps: RealtimeDeps): Realtime {
  const { config, database, logger, clock, tokens } = deps;
  const origins = allowedOrigins(config);
  const redis: RedisLink | undefined =
    config.REDIS_URL === undefined ? undefined : connectRedis(config.REDIS_URL, logger, () => hub.resync());
  const io = new Server<DefaultEventsMap, DefaultEventsMap, InterServerEvents, SocketData>({
    path: '/socket.io',
    // Browsers polling from an allowed origin need CORS headers; the handshake checks Origin for every transport.
    cors: { origin: [...origins], credentials: false },
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    connectTimeout: 10_000,
    ...(redis === undefined ? {} : { adapter: redis.adapter }),
  });
  if (server !== undefined) io.attach(server);
  // Socket.IO answers its HTTP requests (polling, the WebSocket upgrade) outside Express: the request id
  // every response carries is added here.
  io.engine.on(
    'headers',
    (headers: Record<string, string | string[]>, req: { headers: Record<string, string | string[] | undefined> }) => {
      headers['X-Request-Id'] = requestIdFor(req.headers['x-request-id']);
    },
  );
  let isShuttingDown = false;

  const sockets = new Map<string, FulcrumSocket>();
  /** Open sockets per user on this node (reserved at the handshake, released at disconnect). */
  const counter = connectionCounter(MAX_CONNECTIONS_PER_USER);
  const hub = createConnectionHub({
    // The staff feed is one more stream: its rows are numbered by staff_seq, its counter is a counter row.
    fetchAfter: (userId, after, limit) =>
      userId === STAFF_FEED
        ? listStaffEventsAfter(database.db, after, limit)
        : listUserEventsAfter(database.db, userId, after, limit),
    lastEventId: (userId) => lastUserEventId(database.db, userId),
    logger,
    onCatchUpFailed(connection, error) {
      logger.warn({ err: error, userId: connection.userId }, 'socket could not catch up: closing it');
      // Closing the transport (not the socket) lets the client reconnect by itself, with its lastEventId.
      sockets.get(connection.id)?.conn.close();
    },
  });

  if (deps.metrics !== undefined)
    registerRealtimeMetrics(deps.metrics.registry, database.db, clock, {
      isAmqpConfigured: config.AMQP_URL !== undefined,
      connectionCount: () => hub.connectionCount(),
    });

  io.use(handshakeGate({ isShuttingDown: () => isShuttingDown, origins, tokens, counter, logger }));

  io.on('connection', (socket) => {
    const { actor, lastEventId, expiresAt } = socket.data;
    sockets.set(socket.id, socket);
    void socket.join(`user:${actor.id}`);
    const connection = hub.open({
      id: socket.id,
      userId: actor.id,
      isStaff: can(actor, 'read_all'),
      emitter: { emit: (event, data) => void socket.emit(event, data) },
      lastEventId,
    });
    // The token's authority ends at its expiry: a revoked or demoted user does not keep a live feed. The
    // connection is closed, not the socket, so the client reconnects by itself with a fresh token and its lastEventId.
    const expiry = closeAtExpiry(socket.conn, expiresAt, clock.now().getTime());
    // Any message past MESSAGES_PER_SECOND: the socket is closed for good (a client that floods is broken).
    let floodStart = 0;
    let floodCount = 0;
    socket.use((_packet, next) => {
      const now = Date.now();
      if (now - floodStart >= 1_000) [floodStart, floodCount] = [now, 0];
      if (++floodCount > MESSAGES_PER_SECOND) {
        if (floodCount === MESSAGES_PER_SECOND + 1) {
          logger.warn({ userId: actor.id }, 'socket sent more than its messages a second: disconnected');
          socket.disconnect(true);
        }
        return;
      }
      next();
    });
    let windowStart = 0;
    let used = 0;
    socket.on('order:subscribe', (payload: unknown, ack: unknown) => {
      const now = Date.now();
      if (now - windowStart >= 1_000) [windowStart, used] = [now, 0];
      if (++used > SUBSCRIBES_PER_SECOND) return toAck(payload, ack)({ ok: false, error: 'rate_limited' });
      void subscribe(socket, connection, payload, ack);
    });
    socket.on('order:unsubscribe', (payload: unknown, ack: unknown) => {
      const reply = toAck(payload, ack);
      const parsed = subscribeSchema.safeParse(payload);
      if (!parsed.success) return reply({ ok: false, error: 'validation_failed' });
      hub.unfollow(connection, parsed.data.orderId);
      reply({ ok: true });
    });
    socket.on('disconnect', () => {
      clearTimeout(expiry);
      sockets.delete(socket.id);
      counter.release(actor.id);
      hub.close(connection);
    });
  });

  const subscribe = async (socket: FulcrumSocket, connection: Connection, payload: unknown, ack: unknown) => {
    const reply = toAck(payload, ack);
    const parsed = subscribeSchema.safeParse(payload);
    if (!parsed.success) return reply({ ok: false, error: 'validation_failed' });
    const { orderId } = parsed.data;
    const { actor } = socket.data;
    try {
      // Another customer's order is answered exactly like a missing one: existence is not revealed.
      const order = await findVisibleOrder(database.db, actor, orderId);
      if (order.user_id !== actor.id) {
        if (connection.orders.size >= MAX_FOLLOWED_ORDERS && !connection.orders.has(orderId))
          return reply({ ok: false, error: 'too_many_subscriptions' });
        hub.follow(connection, orderId);
      }
      reply({ ok: true });
    } catch (error) {
      if (error instanceof AppError && error.code === 'not_found') return reply({ ok: false, error: 'not_found' });
      logger.error({ err: error, orderId }, 'order:subscribe failed');
      reply({ ok: false, error: 'unavailable' });
    }
  };

  attachStaffFeed(io, {
    hub,
    tokens,
    origins,
    clock,
    logger,
    isShuttingDown: () => isShuttingDown,
    counter,
    sockets: sockets as Map<string, Pick<FulcrumSocket, 'conn'>>,
  });

  io.on(RELAYED, (events: unknown) => {
    const parsed = relayedEventsSchema.safeParse(events);
    if (parsed.success) hub.deliver(parsed.data);
    else logger.error({ issues: parsed.error.issues.slice(0, 3) }, 'malformed relayed events ignored');
  });

  return {
    io,
    hub,
    publish(userEvents, staff = []) {
      const events = staff.length === 0 ? userEvents : [...userEvents, ...staff];
      if (events.length === 0) return;
      if (redis !== undefined && !redis.isReady()) throw new Error('redis is not connected');
      hub.deliver(events);
      // Other nodes only: the Redis adapter does not echo a server-side emit to its sender.
      if (redis !== undefined) io.serverSideEmit(RELAYED, events);
    },
    disconnectUser(userId) {
      // Closed for good (not the transport): the client does not reconnect by itself, and a new handshake with
      // the account's token is refused.
      io.in(`user:${userId}`).disconnectSockets(true);
      io.of(STAFF_NAMESPACE).in(`user:${userId}`).disconnectSockets(true);
    },
    beginShutdown() {
      isShuttingDown = true;
    },
    async close() {
      isShuttingDown = true;
      // Connections are closed (not the sockets, and only this node's): clients reconnect by themselves,
      // to another node behind the load balancer, and replay from their lastEventId.
      (io.engine as typeof io.engine | undefined)?.close();
      await io.of('/').adapter.close();
      await redis?.close();
    },
  };
}

/** The acknowledgement callback, wherever the client put it; a no-op when it sent none. */
function toAck(payload: unknown, ack: unknown): Ack {
  if (typeof ack === 'function') return ack as Ack;
  if (typeof payload === 'function') return payload as Ack;
  return () => {};
}
