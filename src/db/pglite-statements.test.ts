import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import { openDatabase, type Database } from './database.ts';
import { pgliteQuery, type PGliteQuery } from './pglite-statements.ts';
import { statementNames } from './prepared.ts';

describe('PGlite: repeated statements sent by name', () => {
  let pglite: PGlite;
  let query: PGliteQuery;
  const prepared = async () =>
    (await pglite.query<{ name: string; statement: string }>('select name, statement from pg_prepared_statements'))
      .rows;

  before(async () => {
    pglite = await PGlite.create({ parsers: { 20: (v: string) => Number(v) } });
    await pglite.exec(
      `create table t (id text primary key, n bigint, at timestamptz, doc jsonb, tags text[], ok boolean)`,
    );
    query = pgliteQuery(pglite, statementNames());
  });
  after(() => pglite.close());

  it('prepares a text once and answers as PGlite.query does: every type, nulls, affected rows', async () => {
    const insert = 'insert into t (id, n, at, doc, tags, ok) values ($1, $2, $3, $4, $5, $6)';
    const at = new Date('2026-12-02T10:00:00.123Z');
    const first = await query(insert, ['a', 7, at, { k: [1, 'x'] }, ['p', 'q"r'], true]);
    const second = await query(insert, ['b', null, null, null, null, null]);
    assert.equal(first.affectedRows, 1);
    assert.equal(second.affectedRows, 1);
    const names = await prepared();
    assert.deepEqual(
      names.map((p) => p.statement),
      [insert],
      'one prepared statement for the two inserts',
    );

    const select = 'select id, n, at, doc, tags, ok from t where id = any($1::text[]) order by id';
    const named = await query(select, [['a', 'b']]);
    await query(select, [['a', 'b']]);
    const plain = await pglite.query(select, [['a', 'b']]);
    assert.deepEqual(named.rows, plain.rows);
    assert.deepEqual(named.rows, [
      { id: 'a', n: 7, at, doc: { k: [1, 'x'] }, tags: ['p', 'q"r'], ok: true },
      { id: 'b', n: null, at: null, doc: null, tags: null, ok: null },
    ]);
    assert.equal((await prepared()).length, 2);
  });

  it('a statement that fails as it runs throws its SQLSTATE and leaves the session usable, its name kept', async () => {
    const divide = 'select 1 / $1::int as q';
    assert.deepEqual((await query(divide, [1])).rows, [{ q: 1 }]);
    await assert.rejects(query(divide, [0]), (error: { code?: string }) => error.code === '22012');
    assert.deepEqual((await query(divide, [2])).rows, [{ q: 0 }]);
    assert.deepEqual((await query('select count(*) as c from t', [])).rows, [{ c: 2 }]);
  });

  it('a text that does not parse throws and is not remembered; the next statements run', async () => {
    // The first time a text goes unnamed (PGlite.query); the second time it is parsed under its name and fails there.
    const before = (await prepared()).length;
    await assert.rejects(query('selec 1', []), (error: { code?: string }) => error.code === '42601');
    await assert.rejects(query('selec 1', []), (error: { code?: string }) => error.code === '42601');
    assert.equal((await prepared()).length, before, 'nothing prepared for the bad text');
    assert.deepEqual((await query('select $1::int + 1 as r', [41])).rows, [{ r: 42 }]);
  });

  it('in a transaction: a failure aborts it, rollback (itself named) ends it, nothing of it stays', async () => {
    await query('begin', []);
    await query('insert into t (id) values ($1)', ['c']);
    await assert.rejects(query('insert into t (id) values ($1)', ['a']), (error: { code?: string }) => {
      return error.code === '23505';
    });
    // Aborted: even a known statement is refused until the transaction ends.
    await assert.rejects(query('select 1 / $1::int as q', [1]), (error: { code?: string }) => error.code === '25P02');
    await query('rollback', []);
    assert.deepEqual((await query('select id from t order by id', [])).rows, [{ id: 'a' }, { id: 'b' }]);
    // A statement first prepared inside a transaction rolled back stays prepared: preparing is not transactional.
    await query('begin', []);
    await query('select $1::text as fresh', ['w']);
    await query('select $1::text as fresh', ['x']);
    await query('rollback', []);
    assert.ok((await prepared()).some((p) => p.statement === 'select $1::text as fresh'));
    assert.deepEqual((await query('select $1::text as fresh', ['y'])).rows, [{ fresh: 'y' }]);
  });

  it('whole-row results (with names as on a server) and a query without names go as PGlite.query sends them: nothing prepared', async () => {
    const before = (await prepared()).length;
    assert.equal((await query('select * from t where id = $1', ['a'])).rows.length, 1);
    assert.equal((await query('select * from t where id = $1', ['a'])).rows.length, 1);
    const unnamed = pgliteQuery(pglite, undefined);
    assert.deepEqual((await unnamed('select $1::int * 2 as d', [21])).rows, [{ d: 42 }]);
    assert.equal((await prepared()).length, before);
  });
});

describe('PGlite: whole-row statements by name, prepared again when their table changes', () => {
  it('a table changed behind the names: the statement fails once (0A000), the names are forgotten, the next call runs', async () => {
    const lite = await PGlite.create();
    try {
      await lite.exec(`create table w (id text primary key); insert into w values ('a')`);
      const query = pgliteQuery(lite, statementNames({ wholeRows: true }));
      await query('select * from w', []);
      assert.deepEqual((await query('select * from w', [])).rows, [{ id: 'a' }]);
      const named = await lite.query<{ statement: string }>('select statement from pg_prepared_statements');
      assert.deepEqual(
        named.rows.map((r) => r.statement),
        ['select * from w'],
      );
      // Past `names` (PGlite's own exec): the prepared statement's result no longer matches the table.
      await lite.exec(`alter table w add column n int default 7`);
      await assert.rejects(query('select * from w', []), (error: { code?: string }) => error.code === '0A000');
      assert.deepEqual((await query('select * from w', [])).rows, [{ id: 'a', n: 7 }]);
      assert.deepEqual((await query('select * from w', [])).rows, [{ id: 'a', n: 7 }]);
    } finally {
      await lite.close();
    }
  });
});

describe('PGlite named statements once PGlite is closed', () => {
  it('a known text fails as PGlite.query fails on a closed PGlite, with its message', async () => {
    const lite = await PGlite.create();
    const query = pgliteQuery(lite, statementNames());
    await query('select $1::int as one', [1]);
    await query('select $1::int as one', [1]);
    await lite.close();
    await assert.rejects(query('select $1::int as one', [1]), /closed/i);
  });
});

describe('PGlite databases name their statements unless told not to', () => {
  let named: Database;
  let unnamed: Database;
  before(async () => {
    named = await openDatabase({ url: 'memory://', dataDir: '' });
    unnamed = await openDatabase({ url: 'memory://', dataDir: '', preparedStatements: false });
  });
  after(async () => {
    await named.close();
    await unnamed.close();
  });

  it('a repeated statement is prepared on the default database and not with preparedStatements false', async () => {
    const count = sql<{ c: number }>`select count(*)::int as c from pg_prepared_statements`;
    for (const database of [named, unnamed]) {
      await sql`select ${1}::int as one`.execute(database.db);
      await sql`select ${1}::int as one`.execute(database.db);
    }
    assert.ok((await count.execute(named.db)).rows[0]!.c >= 1);
    assert.equal((await count.execute(unnamed.db)).rows[0]!.c, 0);
  });
});
