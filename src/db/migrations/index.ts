import type { Kysely } from 'kysely';
import * as m0001 from './0001_users.ts';
import * as m0002 from './0002_catalog_orders.ts';

interface MigrationModule {
  up(db: Kysely<unknown>): Promise<void>;
  down?(db: Kysely<unknown>): Promise<void>;
}

// Numbered, applied in name order; a landed migration is never edited.
export const migrations: Record<string, MigrationModule> = {
  '0001_users': m0001,
  '0002_catalog_orders': m0002,
};
