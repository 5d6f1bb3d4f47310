// How the chaos workload talks to Fulcrum: JSON over HTTP to any live API process, and one Socket.IO
// client per customer that stays connected, or reconnects (to any live API process) with its lastEventId.
import { io, type Socket } from 'socket.io-client';
import type { SocketRecord } from './invariants.ts';

export interface Reply {
  status: number;
  /** Parsed JSON (read it with `text` and `num`), the text when not JSON, or `{ error }` when nothing came. */
  body: unknown;
}

/** The value at `path` inside parsed JSON, or undefined. */
export function field(value: unknown, ...path: string[]): unknown {
  let at = value;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

export const text = (value: unknown, ...path: string[]): string | undefined => {
  const v = field(value, ...path);
  return typeof v === 'string' ? v : undefined;
};

export const num = (value: unknown, ...path: string[]): number | undefined => {
  const v = field(value, ...path);
  return typeof v === 'number' ? v : undefined;
};

/** A reply that never came: the process died, the connection was refused or timed out. */
export const noReply = (error: unknown): Reply => ({
  status: 0,
  body: {
    error:
      error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error),
  },
});

export async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; key?: string; timeoutMs?: number } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.key !== undefined) headers['idempotency-key'] = options.key;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 20_000),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    return { status: res.status, body };
  } catch (error) {
    return noReply(error);
  }
}

export interface FollowedSocket {
  record: SocketRecord;
  /** The last eventId received (what a reconnection asks to replay after). */
  readonly lastEventId: number;
  /** Reconnections so far. */
  readonly reconnects: number;
  readonly connected: boolean;
  close(): void;
}

/**
 * A customer's socket. It connects with `lastEventId: 0` (the customer is new: everything is replayed), and
 * whenever the connection ends it connects again, to a live API process, with the last eventId it got.
 * Every outbox event is recorded in arrival order; the invariant compares that with the outbox.
 */
export function followSocket(
  userId: string,
  token: () => string,
  apis: () => string[],
  pick: <T>(items: readonly T[]) => T,
  onNote: (what: string) => void,
): FollowedSocket {
  const record: SocketRecord = { userId, received: [] };
  let lastEventId = 0;
  let reconnects = 0;
  let socket: Socket | undefined;
  let closed = false;
  let connected = false;
  /** Failed attempts in a row: the wait before the next grows to a second. */
  let failures = 0;

  const connect = (): void => {
    if (closed) return;
    const targets = apis();
    if (targets.length === 0) {
      setTimeout(connect, 200);
      return;
    }
    const target = pick(targets);
    const s = io(target, {
      path: '/socket.io',
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 5_000,
      auth: { token: token(), lastEventId },
    });
    socket = s;
    const onEvent = (type: string) => (data: { eventId?: unknown; orderId?: unknown; status?: unknown }) => {
      if (s !== socket) return; // a socket already given up
      const eventId = Number(data.eventId);
      record.received.push({
        eventId,
        type,
        orderId: typeof data.orderId === 'string' ? data.orderId : null,
        status: typeof data.status === 'string' ? data.status : null,
      });
      if (eventId > lastEventId) lastEventId = eventId;
    };
    s.on('order.updated', onEvent('order.updated'));
    s.on('payment.updated', onEvent('payment.updated'));
    s.on('resync', () => {
      record.received.push({ eventId: -1, type: 'resync', orderId: null, status: null });
    });
    s.on('session.ready', (data: { lastEventId?: unknown }) => {
      connected = true;
      if (failures > 0 || reconnects > 0)
        onNote(`socket of ${userId} back on ${target} (session.ready ${String(data.lastEventId)})`);
      failures = 0;
    });
    let retried = false;
    const again = (why: string | null) => {
      if (retried || closed) return;
      retried = true;
      s.removeAllListeners();
      s.close();
      if (s === socket) socket = undefined;
      if (why !== null) {
        reconnects += 1;
        onNote(`socket of ${userId} ${why}; reconnecting with lastEventId ${lastEventId}`);
      }
      failures += 1;
      setTimeout(connect, Math.min(1_000, 50 * 2 ** Math.min(failures, 5)));
    };
    s.on('disconnect', (reason) => {
      connected = false;
      again(`disconnected (${reason})`);
    });
    s.on('connect_error', () => again(null));
  };
  connect();

  return {
    record,
    get lastEventId() {
      return lastEventId;
    },
    get reconnects() {
      return reconnects;
    },
    get connected() {
      return connected;
    },
    close() {
      closed = true;
      socket?.removeAllListeners();
      socket?.close();
    },
  };
}
