import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Database } from '../../../src/db/database.ts';
import { migrations } from '../../../src/db/migrations/index.ts';
import { ROOT } from '../../runner/tiers.ts';
import { createServerDatabase } from '../support.ts';

/** Each migration's name and how often it is recorded as applied. */
async function recorded(database: Database): Promise<Map<string, number>> {
  const { rows } = await sql<{ name: string; n: number }>`
    select name, count(*)::int as n from kysely_migration group by name`.execute(database.db);
  return new Map(rows.map((r) => [r.name, r.n]));
}

function assertEachOnce(counts: Map<string, number>): void {
  assert.deepEqual(
    [...counts.entries()].sort(),
    Object.keys(migrations)
      .sort()
      .map((name) => [name, 1]),
  );
}

function migrateProcess(databaseUrl: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['src/main.ts', 'migrate'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

// Two processes on one PostgreSQL server database: the race the migration lock exists for. (On PGlite one
// process holds DATA_DIR: test/migrate-concurrency.test.ts covers concurrent calls within it.)
describe('migrations when several processes start at once', () => {
  it('two migrate processes on a fresh PostgreSQL database both exit 0 and apply each migration once', async () => {
    const server = await createServerDatabase({ migrated: false });
    try {
      const runs = await Promise.all([migrateProcess(server.url), migrateProcess(server.url)]);
      for (const run of runs) assert.equal(run.code, 0, run.stderr);
      assertEachOnce(await recorded(server.database));
    } finally {
      await server.drop();
    }
  });
});
