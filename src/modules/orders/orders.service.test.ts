import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CountStatements, createTestDatabase, type TestDatabase } from '../../../test/helpers.ts';
import type { Actor } from '../../shared/actor.ts';
import { systemClock } from '../../shared/clock.ts';
import { newId } from '../../shared/ids.ts';
import { placeOrder } from './orders.place.ts';
import { cancelOrder, getOrder, type OrderHooks, type OrdersDeps } from './orders.service.ts';
import { transitionOrder } from './orders.transition.ts';

describe('orders service', () => {
  let t: TestDatabase;
  let customer: Actor;
  const admin: Actor = { id: 'usr_admin_svc', role: 'admin' };
  const deps = (hooks: OrderHooks = {}, db = t.database.db): OrdersDeps => ({
    db,
    clock: systemClock,
    orderTtlSeconds: 1800,
    hooks,
  });

  before(async () => {
    t = await createTestDatabase();
    customer = { id: 'usr_customer_svc', role: 'customer' };
    for (const u of [customer, admin]) {
      await t.database.db
        .insertInto('users')
        .values({ id: u.id, email: `${u.id}@example.test`, name: u.id, password_hash: 'x', role: u.role })
        .execute();
    }
  });
  after(() => t.drop());

  async function products(n: number, stock = 100): Promise<string[]> {
    const rows = Array.from({ length: n }, (_, i) => ({
      id: newId('prd'),
      sku: `SVC-${newId('prd')}-${i}`,
      name: `P${i}`,
      description: null,
      price_amount: 100 + i,
      currency: 'usd',
      stock,
    }));
    await t.database.db.insertInto('products').values(rows).execute();
    return rows.map((r) => r.id);
  }

  async function stockOf(id: string): Promise<number> {
    const row = await t.database.db
      .selectFrom('products')
      .select('stock')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return row.stock;
  }

  it('places an order in the same number of statements for 1 line as for 50', async () => {
    const counts: number[] = [];
    for (const lines of [1, 50]) {
      const ids = await products(lines);
      const counter = new CountStatements();
      const order = await placeOrder(deps({}, t.database.db.withPlugin(counter)), customer, {
        items: ids.map((productId) => ({ productId, quantity: 2 })),
      });
      assert.equal(order.items.length, lines);
      counts.push(counter.count);
    }
    assert.equal(counts[0], counts[1], `statements for 1 line: ${counts[0]}, for 50: ${counts[1]}`);
    // Read the products and the customer; write stock, order, lines, first event and outbox row in one statement
    // (issue 11: was 6 in a transaction, 8 round trips with BEGIN and COMMIT). No BEGIN/COMMIT: one statement.
    assert.equal(counts[0], 2, `placing an order takes ${counts[0]} statements`);
  });

  it('cancelling a PAID order runs the payments hook inside the transaction and releases the stock', async () => {
    const [id] = await products(1, 10);
    const order = await placeOrder(deps(), customer, { items: [{ productId: id!, quantity: 4 }] });
    await t.database.db
      .transaction()
      .execute((trx) => transitionOrder(trx, order.id, 'PAID', { actor: { system: 'payments' }, at: new Date() }));
    const calls: { status: string; reason: string | null }[] = [];
    const hooks: OrderHooks = {
      onPaidOrderCancelled: async (trx, input) => {
        // It sees the order already CANCELLED in its own transaction.
        const row = await trx
          .selectFrom('orders')
          .select('status')
          .where('id', '=', input.order.id)
          .executeTakeFirstOrThrow();
        calls.push({ status: row.status, reason: input.reason });
      },
      loadPayments: () => Promise.resolve(new Map([[order.id, { id: 'pay_x', status: 'REFUNDED' }]])),
    };
    const cancelled = await cancelOrder(deps(hooks), admin, order.id, 'customer asked');
    assert.equal(cancelled.status, 'CANCELLED');
    assert.deepEqual(cancelled.payment, { id: 'pay_x', status: 'REFUNDED' });
    assert.deepEqual(calls, [{ status: 'CANCELLED', reason: 'customer asked' }]);
    assert.equal(await stockOf(id!), 10);
  });

  it('when the refund hook fails, the cancel is rolled back: still PAID, stock still reserved', async () => {
    const [id] = await products(1, 10);
    const order = await placeOrder(deps(), customer, { items: [{ productId: id!, quantity: 4 }] });
    await t.database.db
      .transaction()
      .execute((trx) => transitionOrder(trx, order.id, 'PAID', { actor: { system: 'payments' }, at: new Date() }));
    const hooks: OrderHooks = { onPaidOrderCancelled: () => Promise.reject(new Error('gateway down')) };
    await assert.rejects(cancelOrder(deps(hooks), admin, order.id, null), /gateway down/);
    assert.equal((await getOrder(deps(), customer, order.id)).status, 'PAID');
    assert.equal(await stockOf(id!), 6);
  });

  it('an owner still cannot cancel a PAID order when the hook exists', async () => {
    const [id] = await products(1, 10);
    const order = await placeOrder(deps(), customer, { items: [{ productId: id!, quantity: 1 }] });
    await t.database.db
      .transaction()
      .execute((trx) => transitionOrder(trx, order.id, 'PAID', { actor: { system: 'payments' }, at: new Date() }));
    let called = false;
    const hooks: OrderHooks = {
      onPaidOrderCancelled: () => {
        called = true;
        return Promise.resolve();
      },
    };
    await assert.rejects(cancelOrder(deps(hooks), customer, order.id, null), { code: 'invalid_transition' });
    assert.equal(called, false);
  });

  it('transitionOrder refuses a lost race loudly: two concurrent PAID moves, one wins', async () => {
    const [id] = await products(1, 10);
    const order = await placeOrder(deps(), customer, { items: [{ productId: id!, quantity: 1 }] });
    const pay = () =>
      t.database.db
        .transaction()
        .execute((trx) => transitionOrder(trx, order.id, 'PAID', { actor: { system: 'payments' }, at: new Date() }));
    const results = await Promise.allSettled([pay(), pay(), pay()]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) {
      if (r.status === 'rejected') assert.equal((r.reason as { code: string }).code, 'invalid_transition');
    }
    const events = await t.database.db
      .selectFrom('order_events')
      .select('type')
      .where('order_id', '=', order.id)
      .execute();
    assert.deepEqual(
      events.map((e) => e.type),
      ['order.created', 'order.paid'],
    );
  });
});
