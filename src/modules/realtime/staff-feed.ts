import type { Server, Socket } from 'socket.io';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import { can, type TokenService } from '../auth/index.ts';
import type { ConnectionHub } from './connections.ts';
import { STAFF_FEED } from './events.ts';
import { closeAtExpiry, handshakeGate, HandshakeError, type ConnectionCounter, type Session } from './handshake.ts';

/** The Socket.IO namespace of the staff feed. */
export const STAFF_NAMESPACE = '/staff';

export interface StaffFeedDeps {
  hub: ConnectionHub;
  tokens: TokenService;
  origins: ReadonlySet<string>;
  clock: Clock;
  logger: Logger;
  isShuttingDown(): boolean;
  /** The node's sockets per user, shared with the user's feed. */
  counter: ConnectionCounter;
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
  const { hub, clock, counter } = deps;
  const nsp = io.of(STAFF_NAMESPACE);
  nsp.use(
    handshakeGate({
      ...deps,
      admit: (session) => (can(session.actor, 'read_all') ? undefined : new HandshakeError('forbidden')),
    }),
  );
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
    const expiry = closeAtExpiry(socket.conn, expiresAt, clock.now().getTime());
    socket.on('disconnect', () => {
      clearTimeout(expiry);
      deps.sockets.delete(socket.id);
      counter.release(actor.id);
      hub.close(connection);
    });
  });
}
