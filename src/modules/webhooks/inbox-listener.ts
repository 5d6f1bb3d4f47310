import pg from 'pg';
import type { Logger } from '../../observability/logger.ts';

/** The channel migration 0008's trigger notifies on every webhook inbox insert. */
export const INBOX_CHANNEL = 'fulcrum_webhook_inbox';

export interface InboxListenerOptions {
  /** The PostgreSQL server (LISTEN needs a connection of its own, outside the pool). */
  url: string;
  logger: Logger;
  /** Called on each notification, and once after each (re)connection for what was stored meanwhile. */
  onNotify: () => void;
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

  const drop = (dead: pg.Client, error?: Error) => {
    if (client !== dead) return;
    if (listening) logger.warn({ err: error }, 'webhook inbox listener lost its connection: reconnecting');
    client = undefined;
    listening = false;
    dead.removeAllListeners('notification');
    void dead.end().catch(() => {});
    scheduleReconnect();
  };

  const connect = async (): Promise<void> => {
    if (isClosed) return;
    const fresh = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: 5_000,
      application_name: 'fulcrum-inbox-listener',
      keepAlive: true,
    });
    client = fresh;
    fresh.on('error', (error) => drop(fresh, error));
    fresh.on('end', () => drop(fresh));
    fresh.on('notification', () => onNotify());
    try {
      await fresh.connect();
      await fresh.query(`listen ${INBOX_CHANNEL}`);
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (text !== lastError) logger.warn({ err: error }, 'webhook inbox listener cannot LISTEN: polling meanwhile');
      lastError = text;
      drop(fresh, error as Error);
      return;
    }
    if (isClosed || client !== fresh) {
      void fresh.end().catch(() => {});
      return;
    }
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
