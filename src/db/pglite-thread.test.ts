import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { messages, protocol, type PGlite } from '@electric-sql/pglite';
import { Kysely, sql } from 'kysely';
import { openDatabase, type Database } from './database.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import {
  connect,
  createPGlite,
  inProcess,
  rawAnswer,
  startPGliteThread,
  type PGliteHandle,
  type PGliteThread,
} from './pglite-thread.ts';
import { frames } from './pglite-statements.ts';
import { statementNames } from './prepared.ts';
import { endThreadUnbidden } from '../../test/pglite-thread-end.ts';

const SETUP = `create table t (id text primary key, n bigint, at timestamptz, doc jsonb, tags text[], ok boolean, price numeric(12,2), raw bytea)`;

// Issue 11: PGlite on a worker thread of its own (src/db/pglite-thread.ts), the default (PGLITE_THREAD).
describe('PGlite on its own thread', () => {
  let thread: PGliteThread;
  let local: PGliteHandle;
  before(async () => {
    thread = await startPGliteThread({ dataDir: undefined, preparedStatements: true });
    local = inProcess(await createPGlite(undefined), statementNames());
    for (const handle of [thread, local]) await handle.query(SETUP, []);
  });
  after(async () => {
    await thread.close();
    await local.close();
  });

  it('answers as PGlite in process does: every type, nulls, affected rows, sent once and by name', async () => {
    const insert = 'insert into t (id, n, at, doc, tags, ok, price, raw) values ($1, $2, $3, $4, $5, $6, $7, $8)';
    const at = new Date('2026-12-02T10:00:00.123Z');
    const rows: unknown[][] = [
      ['a', 7, at, { k: [1, 'x'] }, ['p', 'q"r'], true, '12.50', new Uint8Array([0, 1, 255])],
      ['b', null, null, null, null, null, null, null],
      ['c', 9_007_199_254, at, [], [], false, '0.01', new Uint8Array([])],
    ];
    const select = 'select id, n, at, doc, tags, ok, price, raw from t order by id';
    const answers = [];
    for (const handle of [thread, local]) {
      const inserted = [];
      for (const values of rows) inserted.push((await handle.query(insert, values)).affectedRows);
      assert.deepEqual(inserted, [1, 1, 1]);
      const updated = await handle.query('update t set ok = not ok where ok is not null', []);
      assert.equal(updated.affectedRows, 2);
      // Twice: the second goes by name.
      await handle.query(select, []);
      answers.push((await handle.query(select, [])).rows);
    }
    assert.deepEqual(answers[0], answers[1]);
    assert.deepEqual((answers[0] as { id: string; at: Date; raw: Uint8Array }[])[0], {
      id: 'a',
      n: 7,
      at,
      doc: { k: [1, 'x'] },
      tags: ['p', 'q"r'],
      ok: false,
      price: '12.50',
      raw: new Uint8Array([0, 1, 255]),
    });
  });

  it('an error crosses with its message and fields (SQLSTATE, constraint, detail); the session goes on', async () => {
    await thread.query(`insert into t (id) values ('dup')`, []);
    const seen: Record<string, unknown>[] = [];
    for (const handle of [thread, local]) {
      if (handle === local) await handle.query(`insert into t (id) values ('dup')`, []);
      // The first time unnamed (PGlite.query), the second by name (protocol messages; on the thread, parsed here).
      for (let time = 0; time < 2; time += 1) {
        await assert.rejects(handle.query('insert into t (id) values ($1)', ['dup']), (error: Error) => {
          assert.ok(error instanceof Error);
          const { code, constraint, detail, table } = error as unknown as Record<string, unknown>;
          seen.push({ message: error.message, code, constraint, detail, table });
          return true;
        });
      }
      assert.deepEqual((await handle.query('select 1 / $1::int as q', [1])).rows, [{ q: 1 }]);
      assert.deepEqual((await handle.query('select 1 / $1::int as q', [1])).rows, [{ q: 1 }]);
    }
    assert.equal(seen.length, 4);
    for (const error of seen) assert.deepEqual(error, seen[0]);
    assert.deepEqual(seen[0], {
      message: 'duplicate key value violates unique constraint "t_pkey"',
      code: '23505',
      constraint: 't_pkey',
      detail: 'Key (id)=(dup) already exists.',
      table: 't',
    });
    assert.deepEqual((await thread.query(`select count(*) as c from t where id = 'dup'`, [])).rows, [{ c: 1 }]);
  });

  it('a statement after close fails as PGlite says it; closing twice is one close', async () => {
    const other = await startPGliteThread({ dataDir: undefined, preparedStatements: false });
    assert.deepEqual((await other.query('select 1 as one', [])).rows, [{ one: 1 }]);
    assert.equal(other.closed, false);
    let lost = false;
    void other.lost.then(() => (lost = true));
    await Promise.all([other.close(), other.close()]);
    assert.equal(other.closed, true);
    await assert.rejects(other.query('select 1', []), /PGlite is closed/);
    // The thread ended because it was asked to: not a loss (the exit came before close resolved).
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(lost, false);
  });

  it('the thread dies: every later statement fails, it counts as closed and as lost', async () => {
    const doomed = await startPGliteThread({ dataDir: undefined, preparedStatements: true });
    assert.deepEqual((await doomed.query('select 1 as one', [])).rows, [{ one: 1 }]);
    await endThreadUnbidden(doomed.worker);
    assert.match((await doomed.lost).message, /PGlite's thread stopped \(exit code 0\)/);
    await assert.rejects(doomed.query('select 1', []), /PGlite's thread stopped/);
    await assert.rejects(doomed.query('select 1 as one', []), /PGlite's thread stopped/);
    assert.equal(doomed.closed, true);
    await doomed.close();
  });

  it("the thread's messages: a statement waiting when the thread ends fails, and so does every later one", async () => {
    class FakeThread extends EventEmitter {
      posted: { id: number }[] = [];
      ref() {}
      unref() {}
      postMessage(message: { id: number }) {
        this.posted.push(message);
      }
    }
    const thread = new FakeThread();
    const { ready, send, state, lost } = connect(thread as unknown as Worker);
    const answered = send({ kind: 'query', text: 'select 1', values: [] });
    const waiting = send({ kind: 'query', text: 'select 2', values: [] });
    assert.deepEqual(
      thread.posted.map((m) => m.id),
      [1, 2],
    );
    thread.emit('message', { id: 1, result: { rows: [{ one: 1 }] } });
    assert.deepEqual((await answered).result, { rows: [{ one: 1 }] });
    // The start's wait for the thread's first message (PGlite open) fails the same way.
    const readyFails = assert.rejects(ready, /exit code 1/);
    thread.emit('exit', 1);
    await readyFails;
    await assert.rejects(waiting, /PGlite's thread stopped \(exit code 1\)/);
    await assert.rejects(send({ kind: 'query', text: 'select 3', values: [] }), /PGlite's thread stopped/);
    assert.equal(thread.posted.length, 2, 'nothing is posted to a thread that ended');
    assert.match((await lost).message, /exit code 1/);
    assert.ok(state.stopped !== undefined);
  });

  it('PGlite that cannot open its files: the start fails with its error and leaves no thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fulcrum-thread-'));
    try {
      const file = join(dir, 'not-a-directory');
      writeFileSync(file, 'x');
      await assert.rejects(startPGliteThread({ dataDir: file, preparedStatements: true }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('PGlite through Kysely: one session, statements outside transactions not waiting for each other', () => {
  for (const thread of [true, false]) {
    describe(thread ? 'on its own thread' : 'in process', () => {
      let database: Database;
      before(async () => {
        database = await openDatabase({ url: 'memory://', dataDir: '', thread });
        await sql`create table marks (id text primary key)`.execute(database.db);
      });
      after(() => database.close());

      it('a statement sent just before a transaction begins never lands inside it (VACUUM would fail there)', async () => {
        // Sent twice first, so it goes by name: its name's exchange is still on its way when the begin comes.
        await sql`vacuum marks`.execute(database.db);
        await sql`vacuum marks`.execute(database.db);
        for (let round = 0; round < 10; round += 1) {
          const vacuum = sql`vacuum marks`.execute(database.db);
          const transaction = database.db.transaction().execute(async (trx) => {
            await sql`select count(*) from marks`.execute(trx);
          });
          await Promise.all([vacuum, transaction]);
        }
      });

      it('a whole-row statement goes by name and sees a column added through the same database (migrations)', async () => {
        await sql`insert into marks values ('w')`.execute(database.db);
        const whole = () => sql<Record<string, unknown>>`select * from marks where id = ${'w'}`.execute(database.db);
        await whole();
        assert.deepEqual((await whole()).rows, [{ id: 'w' }]);
        const prepared = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(
          database.db,
        );
        assert.ok(prepared.rows.some((r) => r.statement === 'select * from marks where id = $1'));
        await sql`alter table marks add column n int default 7`.execute(database.db);
        assert.deepEqual((await whole()).rows, [{ id: 'w', n: 7 }]);
        assert.deepEqual((await whole()).rows, [{ id: 'w', n: 7 }]);
        await sql`alter table marks drop column n`.execute(database.db);
        assert.deepEqual((await whole()).rows, [{ id: 'w' }]);
        await sql`delete from marks`.execute(database.db);
      });

      it('a statement outside an open transaction waits for its end and never sees inside it', async () => {
        let outside: Promise<number> | undefined;
        let second: Promise<void> | undefined;
        let rolledBack = false;
        await assert.rejects(
          database.db.transaction().execute(async (trx) => {
            await sql`insert into marks values ('inside')`.execute(trx);
            outside = sql<{ c: number }>`select count(*)::int as c from marks`.execute(database.db).then((r) => {
              assert.equal(rolledBack, true, 'answered only after the transaction ended');
              return r.rows[0]!.c;
            });
            // A second transaction waits as well.
            second = database.db.transaction().execute(async (other) => {
              await sql`insert into marks values ('second')`.execute(other);
            });
            await new Promise((resolve) => setTimeout(resolve, 50));
            rolledBack = true;
            throw new Error('roll back');
          }),
          /roll back/,
        );
        assert.equal(await outside, 0, 'the rolled-back row was never seen');
        await second;
        const ids = (await sql<{ id: string }>`select id from marks order by id`.execute(database.db)).rows;
        assert.deepEqual(ids, [{ id: 'second' }]);
      });
    });
  }

  it('statements outside transactions go to PGlite without waiting for each other’s answers', async () => {
    const local = inProcess(await createPGlite(undefined));
    let inFlight = 0;
    let most = 0;
    const counting: PGliteHandle = {
      query: async (text, values) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        try {
          return await local.query(text, values);
        } finally {
          inFlight -= 1;
        }
      },
      get closed() {
        return local.closed;
      },
      close: () => local.close(),
      lost: local.lost,
    };
    const db = new Kysely<never>({ dialect: new PGliteDialect(counting) });
    try {
      const answers = await Promise.all(
        [1, 2, 3, 4, 5].map(async (n) => (await sql<{ n: number }>`select ${n}::int as n`.execute(db)).rows[0]!.n),
      );
      assert.deepEqual(answers, [1, 2, 3, 4, 5]);
      assert.equal(most, 5);
    } finally {
      await db.destroy();
    }
    assert.equal(local.closed, true);
  });

  it('closing waits for the statements in flight, then closes PGlite', async () => {
    const database = await openDatabase({ url: 'memory://', dataDir: '' });
    const answers = [1, 2, 3].map((n) =>
      sql<{ n: number }>`select ${n}::int as n, pg_sleep(0.05)`.execute(database.db),
    );
    await database.close();
    assert.deepEqual(
      (await Promise.all(answers)).map((r) => r.rows[0]!.n),
      [1, 2, 3],
    );
  });

  it("PGlite's files written through the thread are read in process; a start that fails releases DATA_DIR", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fulcrum-thread-'));
    try {
      const first = await openDatabase({ url: undefined, dataDir: dir, thread: true });
      await sql`create table kept (v text)`.execute(first.db);
      await sql`insert into kept values ('through the thread')`.execute(first.db);
      await first.close();
      const second = await openDatabase({ url: undefined, dataDir: dir, thread: false });
      assert.deepEqual((await sql`select v from kept`.execute(second.db)).rows, [{ v: 'through the thread' }]);
      await second.close();

      const broken = join(dir, 'broken');
      const { mkdirSync } = await import('node:fs');
      mkdirSync(broken);
      writeFileSync(join(broken, 'pgdata'), 'not a directory');
      await assert.rejects(openDatabase({ url: undefined, dataDir: broken, thread: true }));
      rmSync(join(broken, 'pgdata'));
      const reopened = await openDatabase({ url: undefined, dataDir: broken, thread: true });
      assert.deepEqual((await sql`select 1 as one`.execute(reopened.db)).rows, [{ one: 1 }]);
      await reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// What PGlite's thread runs for a named statement (pglite-thread-worker.ts): one exchange, its answer as bytes.
describe("rawAnswer: one exchange's answer as PGlite's bytes", () => {
  let pglite: PGlite;
  const { parse, bind, describe: describeMessage, execute, sync } = protocol.serialize;
  const exchange = (text: string) =>
    frames(parse({ text }), bind({}), describeMessage({ type: 'P' }), execute({}), sync());
  const parsed = (bytes: Uint8Array) => {
    const got: { name: string }[] = [];
    new protocol.Parser().parse(bytes, (message) => got.push(message));
    return got;
  };
  const answered = (bytes: Uint8Array) => parsed(bytes).map((message) => message.name);
  before(async () => {
    pglite = await createPGlite(undefined);
  });
  after(() => pglite.close());

  it('gives the bytes execProtocolRaw gives, whole when PGlite writes them in several pieces', async () => {
    // 2,000 rows of 1 KB: far more than PGlite sends in one write.
    const text = `select i, repeat('x', 1000) as pad from generate_series(1, 2000) as i`;
    const bytes = await rawAnswer(pglite, exchange(text));
    assert.ok(bytes.length > 2_000_000);
    assert.deepEqual(bytes, await pglite.execProtocolRaw(exchange(text)));
    const names = answered(bytes);
    assert.equal(names.filter((name) => name === 'dataRow').length, 2000);
    assert.deepEqual(names.slice(-2), ['commandComplete', 'readyForQuery']);
    // An error is in the bytes, not thrown (the main thread parses it), and the session goes on.
    const failed = parsed(await rawAnswer(pglite, exchange('select 1 / 0')));
    for (const message of failed) if (message instanceof messages.DatabaseError) assert.equal(message.code, '22012');
    assert.ok(failed.some((message) => message.name === 'error'));
    assert.ok(answered(await rawAnswer(pglite, exchange('select 1'))).includes('dataRow'));
  });

  it('keeps nothing once it has answered (execProtocolRaw kept every message it parsed: RSS grew in the soak)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heapAfter = async (calls: number) => {
      const message = exchange(`select 'a fairly long text for a column, like a product name' as name, 42 as n`);
      for (let i = 0; i < calls; i += 1) await rawAnswer(pglite, message);
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const warm = await heapAfter(2_000);
    const grown = (await heapAfter(20_000)) - warm;
    // Keeping each answer's 6 parsed messages is ≈ 0.5 KB a call: ≈ 10 MB here.
    assert.ok(grown < 3_000_000, `heap grew ${grown} bytes over 20,000 answers`);
  });
});
