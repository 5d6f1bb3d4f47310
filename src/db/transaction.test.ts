import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../../test/helpers.ts';
import { inTransaction, type AfterCommitLog } from './transaction.ts';

describe('inTransaction: work after the commit', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.drop());

  const logged: { fields: object; message: string }[] = [];
  const log = (message: string, fields?: Record<string, unknown>): AfterCommitLog => ({
    logger: { error: (f: object, m?: string) => void logged.push({ fields: f, message: m ?? '' }) },
    message,
    ...(fields === undefined ? {} : { fields }),
  });
  const key = (name: string) => `tx-test.${name}`;
  const stored = async (name: string) =>
    (await t.database.db.selectFrom('job_state').select('value').where('key', '=', key(name)).executeTakeFirst())
      ?.value;
  const store = (name: string) => ({ key: key(name), value: JSON.stringify('written'), updated_at: new Date() });

  it('runs the registered work after the commit, in the order it was registered, and returns the value', async () => {
    const ran: string[] = [];
    const value = await inTransaction(t.database.db, async (trx, later) => {
      await trx.insertInto('job_state').values(store('commit')).execute();
      later(async () => {
        // After the commit: another connection sees the row.
        ran.push(`first sees ${String(await stored('commit'))}`);
      }, log('first failed'));
      later(() => Promise.resolve(ran.push('second')), log('second failed'));
      ran.push('inside');
      return 42;
    });
    assert.equal(value, 42);
    assert.deepEqual(ran, ['inside', 'first sees written', 'second']);
  });

  it('never runs it after a rollback', async () => {
    let ran = false;
    await assert.rejects(
      inTransaction(t.database.db, async (trx, later) => {
        await trx.insertInto('job_state').values(store('rollback')).execute();
        later(() => Promise.resolve((ran = true)), log('failed'));
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(ran, false);
    assert.equal(await stored('rollback'), undefined, 'rolled back');
  });

  it('a failing job is logged, the next ones still run, and the commit stands', async () => {
    logged.length = 0;
    const ran: string[] = [];
    const error = new Error('gateway down');
    const value = await inTransaction(t.database.db, async (trx, later) => {
      await trx.insertInto('job_state').values(store('failing')).execute();
      later(() => Promise.reject(error), log('refund failed', { refundId: 'ref_1' }));
      later(() => Promise.resolve(ran.push('after the failure')), log('second failed'));
      return 'done';
    });
    assert.equal(value, 'done');
    assert.deepEqual(ran, ['after the failure']);
    assert.deepEqual(logged, [{ fields: { err: error, refundId: 'ref_1' }, message: 'refund failed' }]);
    assert.equal(await stored('failing'), 'written', 'the commit is not undone');
  });
});
