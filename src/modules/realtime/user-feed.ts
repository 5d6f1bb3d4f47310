import type { Server, Socket } from 'socket.io';
import { z } from 'zod';
import type { Database } from '../../db/database.ts';
import { stringProblem } from '../../http/input-guard.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import { AppError } from '../../shared/errors.ts';
import { can } from '../auth/index.ts';
import { findVisibleOrder } from '../orders/index.ts';
import type { Connection, ConnectionHub } from './connections.ts';
import { closeAtExpiry, type ConnectionCounter, type Session } from './handshake.ts';

const MAX_FOLLOWED_ORDERS = 1_000;
/** Each order:subscribe costs a database read: a socket gets this many a second. */
const SUBSCRIBES_PER_SECOND = 20;
/** Messages of any kind one socket may send in a second; past it the server disconnects the socket. */
export const MESSAGES_PER_SECOND = 100;

const subscribeSchema = z.strictObject({
  // NUL and lone surrogates never reach the database (PostgreSQL refuses NUL): validation_failed, like HTTP.
  orderId: z
    .string()
    .min(1)
    .max(100)
    .refine((id) => stringProblem(id) === undefined),
});
type Ack = (reply: { ok: true } | { ok: false; error: string }) => void;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any of the server's event maps
type FeedSocket = Socket<any, any, any, Session>;

export interface UserFeedDeps {
  hub: ConnectionHub;
  database: Database;
  clock: Clock;
  logger: Logger;
  /** The node's sockets per user, shared with the staff feed. */
  counter: ConnectionCounter;
  /** This node's sockets by id, so the hub's failed catch-up can close the connection. */
  sockets: Map<string, Pick<Socket, 'conn'>>;
}

/**
 * `/`: a customer's own `order.updated` and `payment.updated` (staff also those of orders they follow with
 * `order:subscribe`), replayed after `lastEventId`. Floods and subscription storms close or refuse the socket.
 */
export function attachUserFeed(io: Server, deps: UserFeedDeps): void {
  const { hub, clock, counter, sockets } = deps;
  const subscribe = subscriber(deps);
  io.on('connection', (socket: FeedSocket) => {
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
    closeOnFlood(socket, deps.logger);
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
}

/** Any message past MESSAGES_PER_SECOND: the socket is closed for good (a client that floods is broken). */
function closeOnFlood(socket: FeedSocket, logger: Logger): void {
  let floodStart = 0;
  let floodCount = 0;
  socket.use((_packet, next) => {
    const now = Date.now();
    if (now - floodStart >= 1_000) [floodStart, floodCount] = [now, 0];
    if (++floodCount > MESSAGES_PER_SECOND) {
      if (floodCount === MESSAGES_PER_SECOND + 1) {
        logger.warn({ userId: socket.data.actor.id }, 'socket sent more than its messages a second: disconnected');
        socket.disconnect(true);
      }
      return;
    }
    next();
  });
}

/** `order:subscribe`: staff follow another customer's order; anyone else is told it does not exist. */
function subscriber({ database, hub, logger }: UserFeedDeps) {
  return async (socket: FeedSocket, connection: Connection, payload: unknown, ack: unknown): Promise<void> => {
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
}

/** The acknowledgement callback, wherever the client put it; a no-op when it sent none. */
function toAck(payload: unknown, ack: unknown): Ack {
  if (typeof ack === 'function') return ack as Ack;
  if (typeof payload === 'function') return payload as Ack;
  return () => {};
}
