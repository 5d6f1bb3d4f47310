import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase, type Database } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { migrations } from '../src/db/migrations/index.ts';

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

describe('migrations when several start at once', () => {
  const serverUrl = process.env.TEST_DATABASE_URL;

  if (serverUrl !== undefined && serverUrl !== '') {
    it('two migrate processes on a fresh PostgreSQL database both exit 0 and apply each migration once', async () => {
      const name = `fulcrum_mig_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      await admin.query(`create database ${name}`);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      try {
        const runs = await Promise.all([migrateProcess(url.toString()), migrateProcess(url.toString())]);
        for (const run of runs) assert.equal(run.code, 0, run.stderr);
        const database = await openDatabase({ url: url.toString(), dataDir: '' });
        try {
          assertEachOnce(await recorded(database));
        } finally {
          await database.close();
        }
      } finally {
        await admin.query(`drop database if exists ${name} with (force)`);
        await admin.end();
      }
    });
  } else {
    // PGlite is one process (DATA_DIR is locked) and one session: the race left is within a process.
    it('concurrent migrateToLatest calls on a fresh embedded database apply each migration once', async () => {
      const database = await openDatabase({ url: 'memory://', dataDir: '' });
      try {
        const applied = await Promise.all([migrateToLatest(database.db), migrateToLatest(database.db)]);
        assert.equal(applied.flat().length, Object.keys(migrations).length, 'each applied by exactly one caller');
        assertEachOnce(await recorded(database));
      } finally {
        await database.close();
      }
    });
  }
});
