import type pg from 'pg';
import { NOTIFY_CHANNELS } from '../../db/commit-signals.ts';
import type { Database } from '../../db/database.ts';
import { openListener } from '../../db/listen.ts';
import type { Logger } from '../../observability/logger.ts';

/** The channel migration 0008's trigger notifies on every webhook inbox insert. */
export const INBOX_CHANNEL = NOTIFY_CHANNELS.webhook_inbox;

export interface InboxListenerOptions {
  /** The PostgreSQL server (LISTEN needs a connection of its own, outside the pool). */
  url: string;
  logger: Logger;
  /** Called on each notification, and once after each (re)connection for what was stored meanwhile. */
  onNotify: () => void;
  /** NOTIFYs with this payload are ignored: this process's own (Database.notifySource), which woke it already. */
  ignorePayload?: string;
  /** Reconnect backoff bounds. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface InboxListener {
  /** True while LISTENing. */
  isListening(): boolean;
  close(): Promise<void>;
}

/**
 * LISTENs for new webhook inbox rows on a dedicated connection and reconnects (with backoff) when it is
 * lost, so a worker process hears of an event an API process stored at once; its poll is the fallback.
 */
export function listenForInboxEvents(options: InboxListenerOptions): InboxListener {
  const { url, logger, onNotify } = options;
  const minBackoff = options.minBackoffMs ?? 250;
  const maxBackoff = options.maxBackoffMs ?? 10_000;
  let backoff = minBackoff;
  let client: pg.Client | undefined;
  let listening = false;
  let isClosed = false;
  let retry: NodeJS.Timeout | undefined;
  let lastError = '';

  const scheduleReconnect = () => {
    if (isClosed || retry !== undefined) return;
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, backoff);
    retry.unref();
    backoff = Math.min(backoff * 2, maxBackoff);
  };

  const lost = (dead: pg.Client, error?: Error) => {
    if (client !== dead) return;
    logger.warn({ err: error }, 'webhook inbox listener lost its connection: reconnecting');
    client = undefined;
    listening = false;
    scheduleReconnect();
  };

  const connect = async (): Promise<void> => {
    if (isClosed) return;
    let fresh: pg.Client;
    try {
      fresh = await openListener({
        url,
        channel: INBOX_CHANNEL,
        applicationName: 'fulcrum-inbox-listener',
        onNotify,
        ...(options.ignorePayload === undefined ? {} : { ignorePayload: options.ignorePayload }),
        onLost: lost,
      });
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (text !== lastError) logger.warn({ err: error }, 'webhook inbox listener cannot LISTEN: polling meanwhile');
      lastError = text;
      scheduleReconnect();
      return;
    }
    if (isClosed) {
      fresh.removeAllListeners('notification');
      void fresh.end().catch(() => {});
      return;
    }
    client = fresh;
    listening = true;
    backoff = minBackoff;
    lastError = '';
    onNotify(); // rows stored while this connection was not listening
  };

  void connect();

  return {
    isListening: () => listening,
    async close() {
      isClosed = true;
      clearTimeout(retry);
      const c = client;
      client = undefined;
      listening = false;
      if (c !== undefined) {
        c.removeAllListeners('notification');
        await c.end().catch(() => {});
      }
    },
  };
}

/**
 * How an inbox worker of this process is woken by rows stored elsewhere: on a PostgreSQL server, another process's
 * NOTIFY (not its own: its webhooks woke the worker as they were stored, onStored). While it runs, this process's
 * inbox commits send no NOTIFY (handleHere): its worker takes them. Returns the stop.
 */
export function wakeInboxWorker(database: Database, logger: Logger, wake: () => void): () => Promise<void> {
  if (database.kind !== 'postgres' || database.url === undefined) return () => Promise.resolve();
  const withdraw = database.signals.handleHere('webhook_inbox', () => true);
  const listener = listenForInboxEvents({
    url: database.url,
    logger,
    onNotify: wake,
    ignorePayload: database.notifySource,
  });
  return async () => {
    withdraw();
    await listener.close();
  };
}
