import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers.ts';
import { newId } from '../../shared/ids.ts';
import { listOrdersQuery, updateOrderStatus, userIdByEmailQuery, type ListOrdersOptions } from './orders.repository.ts';

describe('orders repository', () => {
  let t: TestDatabase;
  const userId = 'usr_repo_test';

  before(async () => {
    t = await createTestDatabase();
    await t.database.db
      .insertInto('users')
      .values({ id: userId, email: 'repo@example.test', name: 'Repo', password_hash: 'x', role: 'customer' })
      .execute();
  });
  after(() => t.drop());

  async function insertOrder(status: 'CREATED' | 'PAID'): Promise<string> {
    const id = newId('ord');
    const now = new Date();
    await t.database.db
      .insertInto('orders')
      .values({
        id,
        user_id: userId,
        status,
        currency: 'usd',
        total_amount: 100,
        expires_at: new Date(now.getTime() + 60_000),
        created_at: now,
        updated_at: now,
      })
      .execute();
    return id;
  }

  it('a status change decided from a status the order has left changes nothing', async () => {
    const id = await insertOrder('PAID');
    const lost = await updateOrderStatus(t.database.db, id, 'CREATED', { status: 'CANCELLED' });
    assert.equal(lost, undefined);
    const row = await t.database.db
      .selectFrom('orders')
      .select('status')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    assert.equal(row.status, 'PAID');

    const won = await updateOrderStatus(t.database.db, id, 'PAID', { status: 'SHIPPED' });
    assert.equal(won?.status, 'SHIPPED');
  });

  // The planner picks sequential scans on tables this small; with them switched off it shows which
  // index it would use, and a list no index fits shows up as a Sort or a Filter on the wrong index.
  const cases: [string, ListOrdersOptions, string][] = [
    ['a customer’s orders', { userId, limit: 20 }, 'orders_user_created_idx'],
    ['a customer’s orders by status', { userId, status: 'PAID', limit: 20 }, 'orders_user_status_created_idx'],
    ['every order by status', { status: 'PAID', limit: 20 }, 'orders_status_created_idx'],
    ['every order', { limit: 20 }, 'orders_created_idx'],
    [
      'every order in a range of creation times',
      { createdFrom: new Date('2026-01-01T00:00:00Z'), createdTo: new Date('2026-01-02T00:00:00Z'), limit: 20 },
      'orders_created_idx',
    ],
    [
      'every order by status in a range of creation times',
      { status: 'PAID', createdFrom: new Date('2026-01-01T00:00:00Z'), limit: 20 },
      'orders_status_created_idx',
    ],
    [
      'a customer’s orders by status in a range of creation times',
      { userId, status: 'PAID', createdTo: new Date('2026-01-02T00:00:00Z'), limit: 20 },
      'orders_user_status_created_idx',
    ],
    [
      'the next page of a customer’s orders by status',
      { userId, status: 'CREATED', limit: 20, after: { createdAt: new Date(), id: 'ord_x' } },
      'orders_user_status_created_idx',
    ],
  ];
  for (const [name, options, index] of cases) {
    it(`lists ${name} from ${index}, in index order`, async () => {
      const plan = await t.database.db.transaction().execute(async (trx) => {
        await sql`set local enable_seqscan = off`.execute(trx);
        const rows = await listOrdersQuery(trx, options).explain();
        return rows.map((r) => String(r['QUERY PLAN'])).join('\n');
      });
      assert.match(plan, new RegExp(`Index Scan using ${index} on orders`), plan);
      assert.doesNotMatch(plan, /Sort|Seq Scan/, plan);
    });
  }

  it('finds the account of an e-mail (the list’s `email` filter) from users_email_key', async () => {
    const plan = await t.database.db.transaction().execute(async (trx) => {
      await sql`set local enable_seqscan = off`.execute(trx);
      const rows = await userIdByEmailQuery(trx, 'repo@example.test').explain();
      return rows.map((r) => String(r['QUERY PLAN'])).join('\n');
    });
    assert.match(plan, /Index Scan using users_email_key on users/, plan);
  });
});
