import type { Server, Socket } from 'socket.io';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import { can, type TokenService } from '../auth/index.ts';
import type { ConnectionHub } from './connections.ts';
import { STAFF_FEED } from './events.ts';
import { authenticateHandshake, checkOrigin, HandshakeError, type Session } from './handshake.ts';

/** The Socket.IO namespace of the staff feed. */
export const STAFF_NAMESPACE = '/staff';

export interface StaffFeedDeps {
  hub: ConnectionHub;
  tokens: TokenService;
  origins: ReadonlySet<string>;
  clock: Clock;
  logger: Logger;
  isShuttingDown(): boolean;
  /** Counts the socket against the user's connection limit; false when the user is at it. */
  reserve(userId: string): boolean;
  release(userId: string): void;
  /** This node's sockets by id, so the hub's failed catch-up can close the connection. */
  sockets: Map<string, Pick<Socket, 'conn'>>;
}

/**
 * `/staff`: every order's `order.updated` and `payment.updated` for support and admin (the admin dashboard's
 * live list), numbered in the feed's own sequence. The handshake is the customer one's (token, `lastEventId`,
 * Origin) plus the `read_all` permission (`forbidden` otherwise); replay after `lastEventId`, `resync` and
 * `session.ready` work as on the user's feed, because the hub treats the feed as one more stream.
 * Nothing the client sends is acted on.
 */
export function attachStaffFeed(io: Server, deps: StaffFeedDeps): void {
  const { hub, tokens, origins, clock, logger } = deps;
  const nsp = io.of(STAFF_NAMESPACE);
  nsp.use((socket, next) => {
    if (deps.isShuttingDown()) return next(new HandshakeError('service_unavailable'));
    try {
      checkOrigin(socket.handshake.headers.origin, origins);
    } catch (error) {
      return next(error as HandshakeError);
    }
    authenticateHandshake(socket.handshake.auth, tokens).then(
      (session) => {
        if (!can(session.actor, 'read_all')) return next(new HandshakeError('forbidden'));
        if (!deps.reserve(session.actor.id)) return next(new HandshakeError('too_many_connections'));
        socket.data = session;
        next();
      },
      (error: unknown) => {
        if (!(error instanceof HandshakeError)) logger.error({ err: error }, 'staff socket handshake failed');
        next(error instanceof HandshakeError ? error : new HandshakeError('unauthorized'));
      },
    );
  });
  nsp.on('connection', (socket) => {
    const { actor, lastEventId, expiresAt } = socket.data as Session;
    deps.sockets.set(socket.id, socket);
    void socket.join(`user:${actor.id}`);
    const connection = hub.open({
      id: socket.id,
      userId: STAFF_FEED,
      isStaff: false,
      emitter: { emit: (event, data) => void socket.emit(event, data) },
      lastEventId,
    });
    // As on the user's feed: the token's authority ends at its expiry, the client reconnects with a fresh one.
    const expiry = setTimeout(() => socket.conn.close(), Math.max(0, expiresAt - clock.now().getTime()));
    expiry.unref();
    socket.on('disconnect', () => {
      clearTimeout(expiry);
      deps.sockets.delete(socket.id);
      deps.release(actor.id);
      hub.close(connection);
    });
  });
}
