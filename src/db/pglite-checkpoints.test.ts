import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { eventually } from '../../test/helpers.ts';
import { openDatabase, type Database, type Executor } from './database.ts';
import { checkpointIfDue, startPGliteCheckpoints, walSinceCheckpoint } from './pglite-checkpoints.ts';

const MB = 1024 * 1024;

/** At least `mb` MB of WAL: messages written to the WAL alone (no table, so the test is quick). */
async function writeWal(db: Executor, mb: number): Promise<void> {
  await sql`select pg_logical_emit_message(false, 'fulcrum-test', repeat(md5(n::text), 32768)) from generate_series(1, ${mb}::int) as n`.execute(
    db,
  );
}

async function walDir(db: Executor): Promise<{ segments: number; bytes: number }> {
  const { rows } = await sql<{ segments: number; bytes: string }>`
    select count(*) as segments, sum(size) as bytes from pg_ls_waldir() where name ~ '^[0-9A-F]{24}$'`.execute(db);
  return { segments: Number(rows[0]!.segments), bytes: Number(rows[0]!.bytes) };
}

describe('PGlite checkpoints: single-user mode has no checkpointer, so Fulcrum checkpoints', () => {
  let database: Database;
  before(async () => {
    database = await openDatabase({ url: 'memory://', dataDir: '' });
  });
  after(() => database.close());

  it('PGlite is opened with the WAL sizes for its checkpoints', async () => {
    const read = async (name: string) =>
      Object.values((await sql.raw(`show ${name}`).execute(database.db)).rows[0]!)[0];
    assert.equal(await read('max_wal_size'), '64MB');
    assert.equal(await read('min_wal_size'), '32MB');
    assert.equal(await read('wal_init_zero'), 'off');
  });

  it('below the threshold nothing is checkpointed; at it, one checkpoint moves the redo point to now', async () => {
    await sql`checkpoint`.execute(database.db);
    await writeWal(database.db, 2);
    const behind = await walSinceCheckpoint(database.db);
    assert.ok(behind >= 2 * MB, `${behind} bytes of WAL since the checkpoint`);
    assert.equal(await checkpointIfDue(database.db, 64 * MB), false);
    assert.ok((await walSinceCheckpoint(database.db)) >= behind, 'no checkpoint happened');
    assert.equal(await checkpointIfDue(database.db, 1 * MB), true);
    assert.ok((await walSinceCheckpoint(database.db)) < MB / 4, 'the redo point is where the WAL is');
  });

  it('without checkpoints pg_wal only grows; with them it stays within max_wal_size', async () => {
    const before = await walDir(database.db);
    await writeWal(database.db, 48);
    const grown = await walDir(database.db);
    assert.ok(grown.segments >= before.segments + 2, `${before.segments} → ${grown.segments} segments, none reused`);
    for (let i = 0; i < 8; i += 1) {
      await writeWal(database.db, 12);
      await checkpointIfDue(database.db, 8 * MB);
    }
    const bounded = await walDir(database.db);
    assert.ok(bounded.bytes <= 64 * MB, `${bounded.bytes / MB} MB of pg_wal after 96 MB more, checkpointed`);
  });

  it('the loop checks on its timer, checkpoints when due, and stops checking when stopped', async () => {
    const errors: unknown[] = [];
    const loop = startPGliteCheckpoints(database.db, {
      everyMs: 10,
      afterBytes: 1 * MB,
      onError: (error) => errors.push(error),
    });
    await writeWal(database.db, 2);
    assert.ok(
      await eventually(async () => (await walSinceCheckpoint(database.db)) < MB / 4, 5000),
      'checkpointed by the loop',
    );
    await loop.stop();
    await writeWal(database.db, 2);
    await sleep(200);
    assert.ok((await walSinceCheckpoint(database.db)) >= 2 * MB, 'no checkpoint after stop');
    assert.deepEqual(errors, []);
  });

  it('a check that fails is handed to onError and the loop goes on checking', async () => {
    const closed = await openDatabase({ url: 'memory://', dataDir: '' });
    await closed.close();
    const errors: unknown[] = [];
    const loop = startPGliteCheckpoints(closed.db, { everyMs: 10, onError: (error) => errors.push(error) });
    assert.ok(await eventually(async () => errors.length >= 2, 5000), `${errors.length} errors handed on`);
    await loop.stop();
    const seen = errors.length;
    await sleep(100);
    assert.equal(errors.length, seen, 'no checks after stop');
  });

  it('an opened PGlite checks on its own, and closing it stops the checks', async () => {
    const errors: unknown[] = [];
    const other = await openDatabase({
      url: 'memory://',
      dataDir: '',
      checkpoints: { everyMs: 10, afterBytes: 1 * MB, onError: (error) => errors.push(error) },
    });
    await writeWal(other.db, 2);
    assert.ok(await eventually(async () => (await walSinceCheckpoint(other.db)) < MB / 4, 5000), 'checkpointed');
    await other.close();
    await sleep(100);
    assert.deepEqual(errors, [], 'no check ran on the closed database');
  });
});
