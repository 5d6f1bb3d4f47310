import type { Server as HttpServer } from 'node:http';
import { Server, type DefaultEventsMap, type Socket } from 'socket.io';
import type { Database } from '../../db/database.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { Clock } from '../../shared/clock.ts';
import { requestIdFor } from '../../http/request-id.ts';
import type { TokenService } from '../auth/index.ts';
import { createConnectionHub, type ConnectionHub } from './connections.ts';
import { RELAYED, relayedEventsSchema, STAFF_FEED, type RealtimeEvent } from './events.ts';
import { allowedOrigins, connectionCounter, handshakeGate, type Session } from './handshake.ts';
import { registerRealtimeMetrics } from './realtime.metrics.ts';
import { connectRedis, type RedisLink } from './redis.ts';
import { lastUserEventId, listStaffEventsAfter, listUserEventsAfter } from './realtime.repository.ts';
import { attachStaffFeed, STAFF_NAMESPACE } from './staff-feed.ts';
import { attachUserFeed } from './user-feed.ts';

export { MESSAGES_PER_SECOND } from './user-feed.ts';

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

/** Sockets one user may hold open on one node; the next handshake is refused with too_many_connections. */
export const MAX_CONNECTIONS_PER_USER = 20;
/** Largest message (and handshake) Socket.IO accepts; a bigger one closes the connection. */
export const MAX_MESSAGE_BYTES = 16 * 1024;

type SocketData = Session;
type InterServerEvents = { [RELAYED]: (events: unknown) => void };
type FulcrumSocket = Socket<DefaultEventsMap, DefaultEventsMap, InterServerEvents, SocketData>;

/**
 * Socket.IO on `server` at /socket.io (or, without a server, a detached instance a worker emits through).
 * Only this module imports socket.io.
 */
export function createRealtime(server: HttpServer | undefined, deps: RealtimeDeps): Realtime {
  const { config, database, logger, clock, tokens } = deps;
  const origins = allowedOrigins(config);
  const redis: RedisLink | undefined =
    config.REDIS_URL === undefined ? undefined : connectRedis(config.REDIS_URL, logger, () => hub.resync());
  const io = createServer(server, origins, redis);
  let isShuttingDown = false;

  const sockets = new Map<string, FulcrumSocket>();
  /** Open sockets per user on this node (reserved at the handshake, released at disconnect). */
  const counter = connectionCounter(MAX_CONNECTIONS_PER_USER);
  const hub = createHub(database, logger, sockets);

  if (deps.metrics !== undefined)
    registerRealtimeMetrics(deps.metrics.registry, database.db, clock, {
      isAmqpConfigured: config.AMQP_URL !== undefined,
      connectionCount: () => hub.connectionCount(),
    });

  io.use(handshakeGate({ isShuttingDown: () => isShuttingDown, origins, tokens, counter, logger }));

  attachUserFeed(io, { hub, database, clock, logger, counter, sockets });

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

/** The Socket.IO server: CORS for the allowed origins, message size bound, Redis adapter, X-Request-Id. */
function createServer(
  server: HttpServer | undefined,
  origins: ReadonlySet<string>,
  redis: RedisLink | undefined,
): Server<DefaultEventsMap, DefaultEventsMap, InterServerEvents, SocketData> {
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
  return io;
}

/** The node's connection hub; the staff feed is one more stream (numbered by staff_seq, a counter row). */
function createHub(
  database: Database,
  logger: Logger,
  sockets: Map<string, Pick<FulcrumSocket, 'conn'>>,
): ConnectionHub {
  return createConnectionHub({
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
}
