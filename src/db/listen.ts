import pg from 'pg';

export interface ListenOptions {
  /** The PostgreSQL server: LISTEN needs a connection of its own, outside the pool. */
  url: string;
  channel: string;
  /** Shown in pg_stat_activity. */
  applicationName: string;
  onNotify: () => void;
  /** Notifications with this payload are not passed on: the listening process sent them itself. */
  ignorePayload?: string;
  /** Once, when the connection is lost after it began to listen (error or end); it has been ended. */
  onLost: (client: pg.Client, error?: Error) => void;
}

/**
 * Opens a dedicated connection that LISTENs on `channel` (with TCP keepalive, so a server that vanished
 * under an idle LISTEN is noticed). Rejects, with the connection ended, when it cannot connect or listen.
 * Reconnecting is the caller's: the inbox listener retries with backoff, the outbox relay when it next
 * tries to lead.
 */
export async function openListener(options: ListenOptions): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: options.url,
    connectionTimeoutMillis: 5_000,
    application_name: options.applicationName,
    keepAlive: true,
  });
  let listening = false;
  let lost = false;
  const lose = (error?: Error) => {
    if (lost) return;
    lost = true;
    client.removeAllListeners('notification');
    void client.end().catch(() => {});
    if (listening) options.onLost(client, error);
  };
  client.on('error', (error) => lose(error));
  client.on('end', () => lose());
  client.on('notification', (message) => {
    if (options.ignorePayload === undefined || message.payload !== options.ignorePayload) options.onNotify();
  });
  try {
    await client.connect();
    await client.query(`listen ${options.channel}`);
  } catch (error) {
    lose(error as Error);
    throw error;
  }
  if (lost) throw new Error(`the connection listening on ${options.channel} was lost while it began`);
  listening = true;
  return client;
}
