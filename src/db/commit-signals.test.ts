import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/helpers.ts';
import {
  createCommitSignals,
  crossProcessNotifier,
  insertedChannels,
  NOTIFY_CHANNELS,
  type CommitChannel,
} from './commit-signals.ts';

describe('commit signals: wake-ups after commit, without NOTIFY in the writing transaction', () => {
  let t: TestDatabase;
  const heard: CommitChannel[] = [];
  before(async () => {
    t = await createTestDatabase();
    t.database.signals.on('outbox', () => heard.push('outbox'));
    t.database.signals.on('webhook_inbox', () => heard.push('webhook_inbox'));
  });
  after(() => t.drop());

  const outboxRow = { user_id: 'usr_signals', type: 'order.updated' as const, payload: JSON.stringify({ a: 1 }) };

  it('reads which watched tables a statement inserts into, CTEs included', () => {
    assert.deepEqual(insertedChannels('insert into "outbox" ("user_id") values ($1)'), ['outbox']);
    assert.deepEqual(insertedChannels('with a as (insert into outbox (user_id) select 1) select 1'), ['outbox']);
    assert.deepEqual(insertedChannels('INSERT INTO webhook_inbox(id) values (1)'), ['webhook_inbox']);
    const both =
      'with x as (insert into outbox (a) values (1)), y as (insert into webhook_inbox (b) values (2)) select 1';
    assert.deepEqual([...insertedChannels(both)].sort(), ['outbox', 'webhook_inbox']);
    assert.deepEqual([...insertedChannels(both)].sort(), ['outbox', 'webhook_inbox'], 'the same again, remembered');
    assert.deepEqual(insertedChannels('select * from outbox'), []);
    assert.deepEqual(insertedChannels('update outbox set published_at = now()'), []);
    assert.deepEqual(insertedChannels('insert into outbox_archive (id) values (1)'), []);
    assert.deepEqual(insertedChannels('insert into orders (id) values (1)'), []);
  });

  it('no trigger notifies inside the writing transaction any more (migration 0016)', async () => {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_trigger where tgname in ('outbox_notify', 'webhook_inbox_notify')`.execute(
      t.database.db,
    );
    assert.equal(rows[0]!.n, 0);
  });

  it('a transaction that appends signals once, after its commit, not before', async () => {
    heard.length = 0;
    await t.database.db.transaction().execute(async (trx) => {
      await trx.insertInto('outbox').values(outboxRow).execute();
      await trx.insertInto('outbox').values(outboxRow).execute();
      assert.deepEqual(heard, [], 'nothing is signalled before the commit');
    });
    assert.deepEqual(heard, ['outbox']);
  });

  it('a rolled-back transaction signals nothing; a statement outside a transaction signals when it returns', async () => {
    heard.length = 0;
    await assert.rejects(
      t.database.db.transaction().execute(async (trx) => {
        await trx.insertInto('outbox').values(outboxRow).execute();
        throw new Error('undo');
      }),
      /undo/,
    );
    assert.deepEqual(heard, []);
    await sql`insert into outbox (user_id, type, payload) values ('usr_signals', 'order.updated', '{}'::jsonb)`.execute(
      t.database.db,
    );
    assert.deepEqual(heard, ['outbox']);
    // Other tables, and reads of the outbox, signal nothing.
    await t.database.db.selectFrom('outbox').select('id').execute();
    await t.database.db
      .updateTable('outbox')
      .set({ published_at: new Date() })
      .where('user_id', '=', 'usr_signals')
      .execute();
    assert.deepEqual(heard, ['outbox']);
  });

  it('on a PostgreSQL server, another connection LISTENing hears the commit', async (test) => {
    if (t.database.url === undefined) {
      // PGlite is one process: the in-process signal above is all there is (no other process can listen).
      assert.equal(t.database.kind, 'pglite');
      return;
    }
    const listener = new pg.Client({ connectionString: t.database.url });
    await listener.connect();
    test.after(() => listener.end());
    const notified = new Promise<string>((resolve) => listener.on('notification', (n) => resolve(n.channel)));
    await listener.query(`listen ${NOTIFY_CHANNELS.outbox}`);
    await t.database.db.transaction().execute((trx) => trx.insertInto('outbox').values(outboxRow).execute());
    const channel = await Promise.race([
      notified,
      new Promise<string>((resolve) => setTimeout(() => resolve('nothing within 5 s'), 5_000)),
    ]);
    assert.equal(channel, NOTIFY_CHANNELS.outbox);
  });

  it('sends at most one NOTIFY per channel in flight: a burst of commits costs two', async () => {
    const signals = createCommitSignals();
    const sent: string[] = [];
    let finish: () => void = () => {};
    const stop = crossProcessNotifier(
      signals,
      NOTIFY_CHANNELS,
      (name) => {
        sent.push(name);
        return new Promise<void>((resolve) => {
          finish = resolve;
        });
      },
      () => {},
    );
    for (let i = 0; i < 10; i++) signals.emit(['outbox']);
    assert.deepEqual(sent, ['fulcrum_outbox'], 'the first at once, the rest wait for it');
    finish();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(sent, ['fulcrum_outbox', 'fulcrum_outbox'], 'one more for everything that came meanwhile');
    finish();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(sent.length, 2, 'and then nothing until the next commit');
    signals.emit(['webhook_inbox']);
    assert.deepEqual(sent.at(-1), 'fulcrum_webhook_inbox');
    stop();
    finish();
    signals.emit(['outbox']);
    assert.equal(sent.length, 3, 'nothing after stop');
  });

  it('sends no NOTIFY for a channel while a consumer here takes its rows, and sends again once it withdraws', () => {
    const signals = createCommitSignals();
    const sent: string[] = [];
    crossProcessNotifier(
      signals,
      NOTIFY_CHANNELS,
      async (name) => {
        sent.push(name);
      },
      () => {},
    );
    let leading = true;
    const withdraw = signals.handleHere('outbox', () => leading);
    assert.equal(signals.handledHere('outbox'), true);
    assert.equal(signals.handledHere('webhook_inbox'), false);
    signals.emit(['outbox']);
    assert.deepEqual(sent, [], 'taken here: no NOTIFY');
    signals.emit(['webhook_inbox']);
    assert.deepEqual(sent, ['fulcrum_webhook_inbox'], 'the other channel still notifies');
    leading = false; // e.g. the relay lost its leadership
    signals.emit(['outbox']);
    assert.deepEqual(sent, ['fulcrum_webhook_inbox', 'fulcrum_outbox']);
    leading = true;
    withdraw();
    assert.equal(signals.handledHere('outbox'), false, 'withdrawn');
  });
});
