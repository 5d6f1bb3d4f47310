import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { serviceAddresses } from '../runner/preflight.ts';

/**
 * Where the second tier's services are: TEST_DATABASE_URL, TEST_REDIS_URL, TEST_AMQP_URL and CHROMIUM_PATH,
 * else the local defaults. `npm run test:services` checked each before any test started (test/runner).
 */
export const SERVICES = serviceAddresses(process.env);

/** The PostgreSQL server's maintenance database, where the tests create and drop their own. */
export const ADMIN_DATABASE_URL = SERVICES.postgres;

export interface ServerDatabase {
  url: string;
  /** Opened and migrated, unless `migrated: false`. */
  database: Database;
  drop(): Promise<void>;
}

/** A fresh database on the PostgreSQL server, opened (and migrated, unless `migrated: false`). */
export async function createServerDatabase(options: { migrated?: boolean } = {}): Promise<ServerDatabase> {
  const name = `fulcrum_rt_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL, connectionTimeoutMillis: 5_000 });
  try {
    await admin.connect();
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end().catch(() => {});
  }
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), dataDir: '' });
  if (options.migrated !== false) await migrateToLatest(database.db);
  return {
    url: url.toString(),
    database,
    async drop() {
      await database.close();
      const c = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
