import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { eventually } from '../../test/helpers.ts';
import { openDatabase, type Database, type Executor } from './database.ts';
import { startPGliteVacuum, tablesDue, vacuumDue } from './pglite-vacuum.ts';

const stats = async (db: Executor, table: string) => {
  await sql`select pg_stat_force_next_flush()`.execute(db); // else up to a second behind
  return (
    await sql<{ dead: number; vacuumed: boolean; analyzed: boolean }>`
      select n_dead_tup::int as dead, last_vacuum is not null as vacuumed, last_analyze is not null as analyzed
      from pg_stat_user_tables where relname = ${table}`.execute(db)
  ).rows[0]!;
};

const size = async (db: Executor, table: string) =>
  Number((await sql<{ b: string }>`select pg_total_relation_size(${table}::regclass) as b`.execute(db)).rows[0]!.b);

/** A queue's life: `rows` added, then each marked done (one dead version per row), `rounds` times. */
async function churn(db: Executor, table: string, rows: number, rounds: number, between?: () => Promise<unknown>) {
  for (let r = 0; r < rounds; r += 1) {
    await sql`insert into ${sql.table(table)} (body) select repeat('x', 200) from generate_series(1, ${rows}::int)`.execute(
      db,
    );
    await sql`update ${sql.table(table)} set done = true where not done`.execute(db);
    await between?.();
  }
}

describe('PGlite vacuums: single-user mode has no autovacuum, so Fulcrum vacuums', () => {
  let database: Database;
  const create = (table: string) =>
    sql`create table ${sql.table(table)} (id serial primary key, done boolean not null default false, body text)`.execute(
      database.db,
    );
  before(async () => {
    database = await openDatabase({ url: 'memory://', dataDir: '', vacuum: { everyMs: 3_600_000, onError: () => {} } });
  });
  after(() => database.close());

  it('nothing vacuums a table by itself; a table past autovacuum’s thresholds is due, one below them is not', async () => {
    await create('vac_busy');
    await create('vac_quiet');
    await churn(database.db, 'vac_busy', 1000, 1);
    await sql`insert into vac_quiet (body) values ('a')`.execute(database.db);
    await sql`update vac_quiet set done = true`.execute(database.db);
    const due = await tablesDue(database.db);
    assert.deepEqual(
      due.filter((d) => d.table.startsWith('vac_')),
      [{ table: 'vac_busy', vacuum: true }],
    );
    const busy = await stats(database.db, 'vac_busy');
    assert.equal(busy.dead, 1000);
    assert.equal(busy.vacuumed, false, 'no autovacuum ran');
  });

  it('vacuumDue vacuums and analyses the tables due, and leaves the others', async () => {
    const done = await vacuumDue(database.db);
    assert.ok(done.some((d) => d.table === 'vac_busy' && d.vacuum));
    const busy = await stats(database.db, 'vac_busy');
    assert.deepEqual(busy, { dead: 0, vacuumed: true, analyzed: true });
    assert.equal((await stats(database.db, 'vac_quiet')).vacuumed, false);
    assert.deepEqual(
      (await tablesDue(database.db)).filter((d) => d.table === 'vac_busy'),
      [],
      'not due again once vacuumed',
    );
  });

  it('its analyses sample 3,000 rows, not 30,000: ten histogram buckets a column (PGLITE_ANALYZE_SETTINGS)', async () => {
    assert.deepEqual((await sql`show default_statistics_target`.execute(database.db)).rows, [
      { default_statistics_target: '10' },
    ]);
    await create('vac_sampled');
    await sql`insert into vac_sampled (body) select md5(i::text) from generate_series(1, 20000) as i`.execute(
      database.db,
    );
    assert.ok((await vacuumDue(database.db)).some((d) => d.table === 'vac_sampled'));
    const { rows } = await sql<{ bounds: string }>`
      select histogram_bounds::text as bounds from pg_stats where tablename = 'vac_sampled' and attname = 'body'`.execute(
      database.db,
    );
    // PostgreSQL's default (100) would give 101 bounds.
    assert.equal(rows[0]!.bounds.replace(/^\{|\}$/g, '').split(',').length, 11);
  });

  it('rows only added make a table due for analysis alone once past the analyze threshold', async () => {
    await create('vac_appended');
    await sql`analyze vac_appended`.execute(database.db);
    await sql`insert into vac_appended (body) select 'x' from generate_series(1, 100)`.execute(database.db);
    assert.deepEqual(
      (await tablesDue(database.db)).filter((d) => d.table === 'vac_appended'),
      [{ table: 'vac_appended', vacuum: false }],
    );
    await vacuumDue(database.db);
    const appended = await stats(database.db, 'vac_appended');
    assert.equal(appended.vacuumed, false);
    assert.equal(appended.analyzed, true);
  });

  it('a queue vacuumed as it goes reuses its space; unvacuumed it keeps growing', async () => {
    await create('vac_kept');
    await create('vac_left');
    await churn(database.db, 'vac_kept', 2000, 8, () => vacuumDue(database.db));
    await churn(database.db, 'vac_left', 2000, 8);
    const kept = await size(database.db, 'vac_kept');
    const left = await size(database.db, 'vac_left');
    assert.ok(kept < left * 0.75, `vacuumed ${kept} bytes vs ${left} bytes unvacuumed`);
  });

  it('the loop vacuums on its timer and stops when stopped; a failing check goes to onError', async () => {
    await create('vac_loop');
    const errors: unknown[] = [];
    const loop = startPGliteVacuum(database.db, { everyMs: 10, onError: (error) => errors.push(error) });
    await churn(database.db, 'vac_loop', 1000, 1);
    assert.ok(await eventually(async () => (await stats(database.db, 'vac_loop')).vacuumed, 5000), 'vacuumed');
    await loop.stop();
    await churn(database.db, 'vac_loop', 1000, 1);
    await sleep(200);
    assert.equal((await stats(database.db, 'vac_loop')).dead, 1000, 'not vacuumed after stop');
    assert.deepEqual(errors, []);

    const closed = await openDatabase({ url: 'memory://', dataDir: '', vacuum: { everyMs: 3_600_000 } });
    await closed.close();
    const failures: unknown[] = [];
    const failing = startPGliteVacuum(closed.db, { everyMs: 10, onError: (error) => failures.push(error) });
    assert.ok(await eventually(async () => failures.length >= 2, 5000), `${failures.length} errors handed on`);
    await failing.stop();
  });

  it('an opened PGlite vacuums on its own, and closing it stops the checks', async () => {
    const errors: unknown[] = [];
    const other = await openDatabase({
      url: 'memory://',
      dataDir: '',
      vacuum: { everyMs: 10, onError: (error) => errors.push(error) },
    });
    await sql`create table vac_own (id serial primary key, done boolean not null default false, body text)`.execute(
      other.db,
    );
    await churn(other.db, 'vac_own', 1000, 1);
    assert.ok(await eventually(async () => (await stats(other.db, 'vac_own')).vacuumed, 5000), 'vacuumed');
    await other.close();
    await sleep(100);
    assert.deepEqual(errors, [], 'no check ran on the closed database');
  });
});
