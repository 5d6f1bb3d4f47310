import type { Logger } from '../../observability/logger.ts';
import { STAFF_FEED, toRealtimeEvent, type OutboxRow, type RealtimeEvent } from './events.ts';

/** What the hub needs of a socket. */
export interface Emitter {
  emit(event: string, data: unknown): void;
}

export interface Connection {
  readonly id: string;
  readonly userId: string;
  /** Support and admin: may follow any order. */
  readonly isStaff: boolean;
  readonly emitter: Emitter;
  /** The last of the user's own eventIds this socket was sent: everything up to it was sent, in order. */
  lastSent: number;
  /** While true, live events are buffered: the database is being read to close a gap. */
  isCatchingUp: boolean;
  buffer: RealtimeEvent[];
  /** Staff only: orders of other users this socket follows, and the last eventId sent per such user. */
  readonly orders: Set<string>;
  readonly foreignLast: Map<string, number>;
  isClosed: boolean;
}

export interface HubDeps {
  /** The user's messages after an eventId, oldest first, at most `limit`. */
  fetchAfter(userId: string, afterEventId: number, limit: number): Promise<OutboxRow[]>;
  /** The user's newest committed eventId. */
  lastEventId(userId: string): Promise<number>;
  /** The database could not be read: the socket must go, its client reconnects with its lastEventId. */
  onCatchUpFailed(connection: Connection, error: unknown): void;
  logger: Logger;
  batchSize?: number;
  /** Live events held per socket while it catches up; beyond it the socket is failed rather than growing. */
  maxBuffered?: number;
}

export interface OpenInput {
  id: string;
  userId: string;
  isStaff: boolean;
  emitter: Emitter;
  /** From the handshake; absent: start from the user's newest event, nothing replayed. */
  lastEventId: number | undefined;
}

export type ConnectionHub = ReturnType<typeof createConnectionHub>;

/** Sent once a socket has caught up: from here on every event arrives live. */
export const READY_EVENT = 'session.ready';

/**
 * Sent instead of a replay when events after the socket's `lastEventId` are no longer kept (the retention job
 * prunes published events older than REALTIME_REPLAY_WINDOW_HOURS): the client reloads what it shows over HTTP.
 * Nothing is replayed; live events follow from `lastEventId`, the user's newest, and READY_EVENT comes as usual.
 */
export const RESYNC_EVENT = 'resync';

export interface ResyncMessage {
  reason: 'events_pruned';
  /** The user's newest eventId: the client's new lastEventId. */
  lastEventId: number;
  /** The oldest eventId still kept for the user (how far back a replay can go now), null when none is. */
  oldestEventId: number | null;
}

/**
 * The sockets of this node and the seam between replay and live delivery.
 *
 * A socket is registered before the database is read, so an event relayed meanwhile is buffered, not
 * missed; after the read, buffered events up to what was read are dropped. Own events are sent strictly
 * as lastSent + 1: a gap (a relay message lost or overtaken) sends the socket back to the database, where
 * every committed event of the user is (per user, commit order is eventId order).
 */
export function createConnectionHub(deps: HubDeps) {
  const batchSize = deps.batchSize ?? 500;
  const maxBuffered = deps.maxBuffered ?? 5_000;
  const byUser = new Map<string, Set<Connection>>();
  const byOrder = new Map<string, Set<Connection>>();

  /** Closes the socket's connection and lets its server end the transport (the client reconnects). */
  const fail = (c: Connection, error: unknown) => {
    close(c);
    deps.onCatchUpFailed(c, error);
  };
  const catchUp = (c: Connection, announce: boolean) => catchUpFromDatabase(c, announce, deps, batchSize, fail);

  const offerOwn = (c: Connection, event: RealtimeEvent) => {
    if (c.isCatchingUp) {
      c.buffer.push(event);
      if (c.buffer.length > maxBuffered) fail(c, new Error('too many events buffered while catching up'));
    } else if (event.eventId === c.lastSent + 1) sendOwn(c, event);
    else if (event.eventId > c.lastSent) {
      c.buffer.push(event);
      void catchUp(c, false);
    }
  };

  const close = (c: Connection) => {
    if (c.isClosed) return;
    c.isClosed = true;
    c.buffer = [];
    remove(byUser, c.userId, c);
    for (const orderId of c.orders) remove(byOrder, orderId, c);
    c.orders.clear();
  };

  return {
    /**
     * Registers the socket, then (in the background) replays after its lastEventId or finds where the user
     * stands; READY_EVENT goes to the socket once it is caught up.
     */
    open(input: OpenInput): Connection {
      const c = newConnection(input);
      add(byUser, c.userId, c);
      void (async () => {
        try {
          await findStart(c, input.lastEventId, deps);
        } catch (error) {
          fail(c, error);
          return;
        }
        await catchUp(c, true);
      })();
      return c;
    },
    close,
    /** Staff sockets follow another user's order; an owner's own orders already arrive in full. */
    follow(c: Connection, orderId: string): void {
      if (!c.isStaff || c.isClosed) return;
      c.orders.add(orderId);
      add(byOrder, orderId, c);
    },
    unfollow(c: Connection, orderId: string): void {
      c.orders.delete(orderId);
      remove(byOrder, orderId, c);
    },
    /** Events from the relay, in outbox order: each goes to its user's sockets and to staff following its order. */
    deliver(events: readonly RealtimeEvent[]): void {
      for (const event of events) {
        for (const c of byUser.get(event.userId) ?? []) offerOwn(c, event);
        // The staff feed's copy goes to staff feed sockets only: followers already get the owner's event.
        if (event.userId === STAFF_FEED) continue;
        for (const c of byOrder.get(event.orderId) ?? []) offerForeign(c, event);
      }
    },
    /** Every socket reads the outbox after what it was sent: relayed messages may have been lost meanwhile. */
    resync(): void {
      for (const set of byUser.values()) for (const c of set) if (!c.isCatchingUp) void catchUp(c, false);
    },
    connectionCount: (): number => [...byUser.values()].reduce((n, set) => n + set.size, 0),
  };
}

function add<K>(map: Map<K, Set<Connection>>, key: K, c: Connection): void {
  const set = map.get(key) ?? new Set<Connection>();
  set.add(c);
  map.set(key, set);
}

function remove<K>(map: Map<K, Set<Connection>>, key: K, c: Connection): void {
  const set = map.get(key);
  set?.delete(c);
  if (set?.size === 0) map.delete(key);
}

function sendOwn(c: Connection, event: RealtimeEvent): void {
  c.emitter.emit(event.type, event.data);
  c.lastSent = event.eventId;
}

/** Sends buffered events in order; with `strict`, stops at a gap and keeps the rest. */
function flush(c: Connection, strict: boolean): void {
  c.buffer.sort((a, b) => a.eventId - b.eventId);
  while (c.buffer.length > 0) {
    const next = c.buffer[0]!;
    if (next.eventId <= c.lastSent) c.buffer.shift();
    else if (next.eventId === c.lastSent + 1 || !strict) sendOwn(c, c.buffer.shift()!);
    else return;
  }
}

/** Sends the user's committed events after lastSent from the database, batch after batch. */
async function readDatabase(c: Connection, deps: HubDeps, batchSize: number): Promise<void> {
  for (;;) {
    const rows = await deps.fetchAfter(c.userId, c.lastSent, batchSize);
    for (const row of rows) {
      if (c.isClosed) return;
      const event = toRealtimeEvent(row);
      if (event === null) {
        deps.logger.error({ outboxId: row.id }, 'outbox payload has the wrong shape: skipped');
        c.lastSent = Number(row.event_id);
      } else if (event.eventId > c.lastSent) sendOwn(c, event);
    }
    if (rows.length < batchSize) return;
  }
}

/**
 * Where a new socket starts: after its lastEventId, or at the user's newest event. A lastEventId beyond the
 * user's newest (another user's, or from before a restore) would silence every event up to it: it counts as
 * the newest. A user's eventIds have no holes and retention removes the oldest ones first: if the one after
 * lastSent is gone, a replay would silently skip events, so the client is told to reload instead (RESYNC_EVENT).
 */
async function findStart(c: Connection, lastEventId: number | undefined, deps: HubDeps): Promise<void> {
  const newest = await deps.lastEventId(c.userId);
  c.lastSent = Math.min(lastEventId ?? Infinity, newest);
  if (lastEventId === undefined || c.lastSent >= newest) return;
  const [next] = await deps.fetchAfter(c.userId, c.lastSent, 1);
  const nextId = next === undefined ? null : Number(next.event_id);
  if (nextId !== c.lastSent + 1 && !c.isClosed) {
    const message: ResyncMessage = { reason: 'events_pruned', lastEventId: newest, oldestEventId: nextId };
    c.emitter.emit(RESYNC_EVENT, message);
    c.lastSent = newest;
  }
}

function newConnection(input: OpenInput): Connection {
  return {
    id: input.id,
    userId: input.userId,
    isStaff: input.isStaff,
    emitter: input.emitter,
    lastSent: input.lastEventId ?? 0,
    isCatchingUp: true,
    buffer: [],
    orders: new Set(),
    foreignLast: new Map(),
    isClosed: false,
  };
}

/** Another user's event to a staff socket following its order: each user's events once, in order. */
function offerForeign(c: Connection, event: RealtimeEvent): void {
  // Only staff sockets are ever in byOrder; checked again so a bug elsewhere cannot leak an order.
  if (!c.isStaff || c.userId === event.userId) return;
  const last = c.foreignLast.get(event.userId) ?? 0;
  if (event.eventId <= last) return;
  c.foreignLast.set(event.userId, event.eventId);
  c.emitter.emit(event.type, event.data);
}

/** Live events are buffered while the database is read; then the buffer is sent in order. */
async function catchUpFromDatabase(
  c: Connection,
  announce: boolean,
  deps: HubDeps,
  batchSize: number,
  fail: (c: Connection, error: unknown) => void,
): Promise<void> {
  c.isCatchingUp = true;
  try {
    // A buffered event may have committed after the first read began; a second read sees what precedes it.
    for (let attempt = 0; attempt < 3 && !c.isClosed; attempt++) {
      await readDatabase(c, deps, batchSize);
      flush(c, true);
      if (c.buffer.length === 0) break;
    }
    if (c.isClosed) return;
    // Only rows removed from the table can leave a gap now: send the rest rather than wait forever.
    if (c.buffer.length > 0) deps.logger.warn({ userId: c.userId, after: c.lastSent }, 'gap in outbox events');
    flush(c, false);
    c.isCatchingUp = false;
    if (announce) c.emitter.emit(READY_EVENT, { lastEventId: c.lastSent });
  } catch (error) {
    if (c.isClosed) return;
    fail(c, error);
  }
}
