import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import type pg from 'pg';
import { NOTIFY_CHANNELS } from '../../db/commit-signals.ts';
import { openListener } from '../../db/listen.ts';
import type { Database, Db } from '../../db/database.ts';
import type { DB } from '../../db/schema.ts';
import type { Logger } from '../../observability/logger.ts';

/** The channel every process NOTIFYs after commits that appended to the outbox (src/db/commit-signals.ts). */
export const OUTBOX_CHANNEL = NOTIFY_CHANNELS.outbox;
const LOCK_NAME = 'fulcrum.outbox_relay';

/** Who may relay right now, and through which connection. */
export interface RelayLeadership {
  /** Becomes (or stays) the active relay when it can; false while another process is. */
  acquire(): Promise<boolean>;
  /** The queries of the active relay go through this. */
  executor(): Db;
  isActive(): boolean;
  close(): Promise<void>;
}

/** PGlite lives in one process, which is therefore always the only relay (woken by its commits' signals). */
export function embeddedLeadership(database: Database): RelayLeadership {
  return {
    acquire: () => Promise.resolve(true),
    executor: () => database.db,
    isActive: () => true,
    close: () => Promise.resolve(),
  };
}

/**
 * On a PostgreSQL server: one connection of its own holds a session advisory lock (so one relay is active
 * across processes, and a crashed one frees it with its connection), LISTENs for new outbox rows, and runs
 * the active relay's queries — so a relay whose lock connection died cannot read or mark anything.
 */
export function serverLeadership(
  url: string,
  logger: Logger,
  onNotify: () => void,
  /** NOTIFYs this process sent itself (Database.notifySource): its commits woke the relay in-process. */
  ignorePayload?: string,
): RelayLeadership {
  let client: pg.Client | undefined;
  let db: Db | undefined;
  let isLeader = false;
  let acquiring: Promise<boolean> | undefined;
  let isClosed = false;

  const lost = (dead: pg.Client, error?: Error) => {
    if (client !== dead) return;
    if (isLeader) logger.warn({ err: error }, 'outbox relay lost its database connection: no longer active');
    client = undefined;
    db = undefined;
    isLeader = false;
  };

  const connect = async (): Promise<void> => {
    const fresh = await openListener({
      url,
      channel: OUTBOX_CHANNEL,
      applicationName: 'fulcrum-outbox-relay',
      onNotify,
      ...(ignorePayload === undefined ? {} : { ignorePayload }),
      onLost: lost,
    });
    if (isClosed) {
      fresh.removeAllListeners('notification');
      void fresh.end().catch(() => {});
      throw new Error('outbox relay stopped');
    }
    client = fresh;
    db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: onePool(fresh) }) });
  };

  const tryLock = async (): Promise<boolean> => {
    if (isClosed) return false;
    if (client === undefined) await connect();
    const c = client;
    if (c === undefined) return false;
    const { rows } = await c.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtext($1)) as locked', [
      LOCK_NAME,
    ]);
    // Notifications missed while connecting are caught by the drain that follows.
    isLeader = rows[0]?.locked === true && client === c;
    return isLeader;
  };

  return {
    acquire() {
      if (isLeader && client !== undefined) return Promise.resolve(true);
      // One attempt at a time: concurrent callers share it, so a session takes the lock at most once.
      acquiring ??= tryLock().finally(() => (acquiring = undefined));
      return acquiring;
    },
    isActive: () => isLeader && client !== undefined,
    executor() {
      if (!isLeader || db === undefined) throw new Error('not the active outbox relay');
      return db;
    },
    async close() {
      isClosed = true;
      await acquiring?.catch(() => false);
      const c = client;
      client = undefined;
      db = undefined;
      isLeader = false;
      // Ending the session releases the advisory lock for the next relay.
      if (c !== undefined) await c.end().catch(() => {});
    },
  };
}

/** Kysely over one client: every query the relay makes runs in the lock-holding session. */
function onePool(client: pg.Client): PostgresPool {
  const connection: PostgresPoolClient = { query: client.query.bind(client), release: () => {} };
  return { connect: () => Promise.resolve(connection), end: () => Promise.resolve() };
}
