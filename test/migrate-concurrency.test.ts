import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { migrations } from '../src/db/migrations/index.ts';

// PGlite is one process (DATA_DIR is locked) and one session: the race left is within a process. Two
// migrate processes on a PostgreSQL server: test/services/db/migrate-concurrency.test.ts.
describe('migrations when several start at once', () => {
  it('concurrent migrateToLatest calls on a fresh embedded database apply each migration once', async () => {
    const database = await openDatabase({ url: 'memory://', dataDir: '' });
    try {
      const applied = await Promise.all([migrateToLatest(database.db), migrateToLatest(database.db)]);
      assert.equal(applied.flat().length, Object.keys(migrations).length, 'each applied by exactly one caller');
      const { rows } = await sql<{ name: string; n: number }>`
        select name, count(*)::int as n from kysely_migration group by name`.execute(database.db);
      assert.deepEqual(
        rows.map((r) => [r.name, r.n]).sort(),
        Object.keys(migrations)
          .sort()
          .map((name) => [name, 1]),
      );
    } finally {
      await database.close();
    }
  });
});
