import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { startPgStandIn } from '../../test/pg-standin.ts';
import { openDatabase, type Database } from './database.ts';
import { statementNames } from './prepared.ts';

describe('prepared statements: which texts get a name', () => {
  it('names a text the second time it is sent and keeps the name; whole-row results and texts past the limit go unnamed', () => {
    const names = statementNames({ limit: 3 });
    /** The name of a text sent twice (the first time goes unnamed). */
    const twice = (text: string) => {
      assert.equal(names.nameOf(text), undefined, `sent once: ${text}`);
      return names.nameOf(text);
    };
    const a = twice('select id from orders where id = $1');
    assert.ok(a !== undefined);
    assert.equal(names.nameOf('select id from orders where id = $1'), a);
    assert.equal(twice('select * from orders where id = $1'), undefined);
    assert.equal(twice('update orders set status = $1 returning *'), undefined);
    assert.equal(twice('select "orders".*, "users"."email" from "orders"'), undefined);
    // A VALUES list's columns are not a table's: the order statement's `v.*` may be named.
    assert.ok(twice('insert into t select p.id, v.* from p, (values ($1::int)) as v(x)') !== undefined);
    assert.ok(twice('select 2') !== undefined);
    assert.equal(names.size, 3);
    assert.equal(twice('select 3'), undefined, 'past the limit: unnamed');
    assert.equal(names.size, 3);
    names.stop();
    assert.equal(names.nameOf('select 2'), undefined, 'stopped: even a known text goes unnamed');
  });

  it('texts sent once take no name, and the texts seen once are forgotten when there are too many', () => {
    const names = statementNames({ limit: 10, seenLimit: 3 });
    for (let i = 0; i < 50; i++) assert.equal(names.nameOf(`create table t${i} (id int)`), undefined);
    assert.equal(names.size, 0, 'fifty one-off statements: no name taken');
    // A text sent twice in a row is named.
    names.nameOf('select 1');
    assert.ok(names.nameOf('select 1') !== undefined);
    // 'select 2' is seen, then three other texts fill the set, which is emptied: 'select 2' is new again.
    names.nameOf('select 2');
    for (const text of ['a', 'b', 'c']) names.nameOf(text);
    assert.equal(names.nameOf('select 2'), undefined);
    assert.ok(names.nameOf('select 2') !== undefined);
    assert.equal(names.size, 2);
  });
});

describe('prepared statements on PGlite (wholeRows): whole rows named, names forgotten when tables may change', () => {
  /** The name of a text sent twice (the first time goes unnamed). */
  const twice = (names: ReturnType<typeof statementNames>, text: string) => {
    assert.equal(names.nameOf(text), undefined, `sent once: ${text}`);
    return names.nameOf(text);
  };

  it('names whole-row statements, which a server process never names', () => {
    const names = statementNames({ wholeRows: true });
    for (const text of [
      'select * from orders where id = $1',
      'update orders set n = 1 returning *',
      'select "o".* from "o"',
    ]) {
      assert.ok(twice(names, text) !== undefined, text);
    }
    assert.equal(twice(statementNames(), 'select * from orders where id = $1'), undefined);
  });

  it('a statement that may change a table forgets every name; the texts are named again, never by an old name', () => {
    const changes = [
      'alter table orders add column note text',
      '  \n create index orders_x on orders (x)',
      '-- a migration\ndrop table t',
      '/* one */ truncate t',
      'DO $$ begin perform 1; end $$',
      'comment on table t is $1',
    ];
    const names = statementNames({ wholeRows: true });
    const given = new Set<string>();
    for (const change of changes) {
      const name = twice(names, 'select * from orders where id = $1')!;
      assert.ok(!given.has(name), `${name} given twice`);
      given.add(name);
      assert.equal(names.nameOf('select * from orders where id = $1'), name);
      assert.equal(names.nameOf(change), undefined, change);
      assert.equal(names.size, 0, `forgotten after: ${change}`);
    }
    // Statements that change rows, not tables, keep the names.
    const kept = twice(names, 'select * from orders where id = $1');
    for (const text of [
      'update orders set note = $1',
      'delete from t',
      'insert into t values (1)',
      'vacuum t',
      'begin',
    ]) {
      names.nameOf(text);
    }
    assert.equal(names.nameOf('select * from orders where id = $1'), kept);
  });

  it('forget(): every text is new again, named anew', () => {
    const names = statementNames();
    const first = twice(names, 'select id from t');
    names.forget();
    assert.equal(names.size, 0);
    const second = twice(names, 'select id from t');
    assert.ok(first !== undefined && second !== undefined && first !== second);
  });
});

// On a PostgreSQL server only (TEST_DATABASE_URL); PGlite's named statements: pglite-statements.test.ts.
describe('prepared statements on a PostgreSQL server', () => {
  const server = process.env.TEST_DATABASE_URL;
  const name = `fulcrum_p_${randomBytes(6).toString('hex')}`;
  let url = '';
  const opened: Database[] = [];
  before(async () => {
    if (server === undefined || server === '') return;
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const u = new URL(server);
    u.pathname = `/${name}`;
    url = u.toString();
  });
  after(async () => {
    for (const d of opened) await d.close();
    if (url === '') return;
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  });

  const open = async (preparedStatements: boolean) => {
    const d = await openDatabase({ url, dataDir: '', poolSize: 1, preparedStatements });
    opened.push(d);
    return d;
  };
  /** The statements the pool's one connection has prepared whose text contains `marker`. */
  const preparedWith = async (d: Database, marker: string) => {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_prepared_statements where statement like ${`%${marker}%`}`.execute(d.db);
    return rows[0]!.n;
  };

  it('a repeated statement is parsed once per connection; with the setting off, never', async (t) => {
    if (url === '') {
      t.diagnostic('TEST_DATABASE_URL unset: PGlite only, nothing to prepare');
      return;
    }
    const on = await open(true);
    for (let i = 0; i < 3; i++) await sql`select ${i}::int as marker_on`.execute(on.db);
    assert.equal(await preparedWith(on, 'marker_on'), 1);
    const off = await open(false);
    for (let i = 0; i < 3; i++) await sql`select ${i}::int as marker_off`.execute(off.db);
    assert.equal(await preparedWith(off, 'marker_off'), 0);
  });

  it('a named statement that fails (a unique violation) fails as before, and the next use of it works', async () => {
    if (url === '') return;
    const d = await open(true);
    await sql`create table if not exists prepared_probe (id int primary key, note text)`.execute(d.db);
    const insert = (id: number) => sql`insert into prepared_probe (id, note) values (${id}, 'x')`.execute(d.db);
    await insert(1);
    await assert.rejects(insert(1), (error: { code?: string }) => error.code === '23505');
    await insert(2);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from prepared_probe`.execute(d.db);
    assert.equal(rows[0]!.n, 2);
  });

  it('a column added under a running process (a migration during a rolling deploy) breaks none of its statements', async () => {
    if (url === '') return;
    const d = await open(true);
    await sql`create table if not exists prepared_shape (id int primary key, a text)`.execute(d.db);
    await sql`insert into prepared_shape (id, a) values (1, 'one') on conflict do nothing`.execute(d.db);
    const named = () => sql<{ a: string }>`select a from prepared_shape where id = ${1}`.execute(d.db);
    const whole = () =>
      d.db
        .selectFrom('prepared_shape' as never)
        .selectAll()
        .execute();
    for (let i = 0; i < 6; i++) {
      await named();
      await whole();
    }
    await sql`alter table prepared_shape add column b text default 'new'`.execute(d.db);
    assert.deepEqual((await named()).rows, [{ a: 'one' }]);
    assert.deepEqual(await whole(), [{ id: 1, a: 'one', b: 'new' }]);
  });

  it("a named statement's column changes type under it: it fails once, its names are forgotten, the next call runs", async () => {
    if (url === '') return;
    const d = await open(true);
    await sql`create table if not exists prepared_type (id int primary key, n int)`.execute(d.db);
    await sql`insert into prepared_type (id, n) values (1, 5) on conflict do nothing`.execute(d.db);
    const read = () => sql<{ n: unknown }>`select n from prepared_type where id = ${1}`.execute(d.db);
    await read();
    assert.deepEqual((await read()).rows, [{ n: 5 }]);
    await sql`alter table prepared_type alter column n type text`.execute(d.db);
    await assert.rejects(read(), /cached plan must not change result type/);
    assert.deepEqual((await read()).rows, [{ n: '5' }]);
    assert.deepEqual((await read()).rows, [{ n: '5' }]);
  });
});

// A pooler or proxy that hands connections a session they did not prepare in (here the stand-in: every connection
// shares one PGlite session, so a name prepared by a previous connection is still taken).
describe('prepared statements when the server session is not the connection’s own', () => {
  it('the statement that meets it fails once (42P05/26000); from then on statements go unnamed and work', async () => {
    const server = await startPgStandIn();
    const d = await openDatabase({ url: server.url, dataDir: '', poolSize: 1, preparedStatements: true });
    try {
      const probe = () =>
        sql<{ probe: number }>`select ${1}::int as probe`.execute(d.db).then(
          (r) => `ok ${r.rows[0]!.probe}`,
          (error: { code?: string }) => error.code ?? 'connection',
        );
      assert.equal(await probe(), 'ok 1');
      assert.equal(await probe(), 'ok 1', 'sent a second time: named, prepared in the shared session');
      await server.stop();
      await server.start();
      const after: string[] = [];
      for (let i = 0; i < 4; i++) after.push(await probe());
      assert.ok(
        after.some((r) => r === '42P05' || r === '26000'),
        after.join(', '),
      );
      assert.deepEqual(after.slice(-2), ['ok 1', 'ok 1'], after.join(', '));
    } finally {
      await d.close();
      await server.close();
    }
  });
});
