import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { newId } from '../../shared/ids.ts';
import { orderStatuses, type OrderStatus } from './order-status.ts';

/** `fulcrum_orders{status="…"} n` lines of a scrape, as a map. */
async function ordersGauge(app: TestApp): Promise<Map<string, number>> {
  const res = await fetch(`${app.baseUrl}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /^# TYPE fulcrum_orders gauge$/m);
  const series = new Map<string, number>();
  for (const m of text.matchAll(/^fulcrum_orders\{status="([A-Z]+)"\} (\d+)$/gm)) series.set(m[1]!, Number(m[2]));
  return series;
}

describe('/metrics: fulcrum_orders{status}', () => {
  let app: TestApp;
  let userId: string;
  before(async () => {
    app = await startTestApp();
    userId = (await createUser(app)).id;
  });
  after(() => app.close());

  const insertOrder = async (status: OrderStatus): Promise<string> => {
    const id = newId('ord');
    await app.database.db
      .insertInto('orders')
      .values({ id, user_id: userId, status, currency: 'jpy', total_amount: 100, expires_at: new Date() })
      .execute();
    return id;
  };

  it('exports every status, 0 when no order has it', async () => {
    const series = await ordersGauge(app);
    assert.deepEqual([...series.keys()].sort(), [...orderStatuses].sort());
    for (const n of series.values()) assert.equal(n, 0);
  });

  it('counts the orders in each status at scrape time, following status changes', async () => {
    const created = [await insertOrder('CREATED'), await insertOrder('CREATED'), await insertOrder('CREATED')];
    await insertOrder('PAID');
    await insertOrder('CANCELLED');
    let series = await ordersGauge(app);
    assert.deepEqual(Object.fromEntries(series), { CREATED: 3, PAID: 1, SHIPPED: 0, DELIVERED: 0, CANCELLED: 1 });

    await app.database.db.updateTable('orders').set({ status: 'PAID' }).where('id', '=', created[0]!).execute();
    await app.database.db.updateTable('orders').set({ status: 'SHIPPED' }).where('id', '=', created[1]!).execute();
    series = await ordersGauge(app);
    assert.deepEqual(Object.fromEntries(series), { CREATED: 1, PAID: 2, SHIPPED: 1, DELIVERED: 0, CANCELLED: 1 });
  });
});
