import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KyselyPlugin, PluginTransformResultArgs, QueryResult, UnknownRow } from 'kysely';
import { CountStatements, createTestDatabase, orderRecordedUnder, type TestDatabase } from '../../../test/helpers.ts';
import type { Actor } from '../../shared/actor.ts';
import { systemClock } from '../../shared/clock.ts';
import { AppError } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import { placeOrder } from './orders.place.ts';
import type { OrdersDeps } from './orders.service.ts';

/**
 * Makes the first statement's answer (placeOrder's read) say what `stale` makes of it: the catalog as it was a
 * moment before the test changed it, i.e. as if the change came between placeOrder's read and its write. (Running
 * the change itself in between is not possible on PGlite: the one connection is held until the answer is handed on.)
 */
class StaleFirstRead extends CountStatements {
  private readonly stale: (row: Record<string, unknown>) => void;
  constructor(stale: (row: Record<string, unknown>) => void) {
    super();
    this.stale = stale;
  }
  override transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (this.count === 1) for (const row of args.result.rows) this.stale(row);
    return super.transformResult(args);
  }
}

// Placing an order reads the products, then writes everything in one statement that reserves stock only if each
// product is still as it was read (issue 11). These are the races between the two statements.
describe('placing an order: the catalog changing between the read and the write', () => {
  let t: TestDatabase;
  const customer: Actor = { id: 'usr_place_race', role: 'customer' };
  const deps = (plugin?: KyselyPlugin): OrdersDeps => ({
    db: plugin === undefined ? t.database.db : t.database.db.withPlugin(plugin),
    clock: systemClock,
    orderTtlSeconds: 1800,
    hooks: {},
  });

  before(async () => {
    t = await createTestDatabase();
    await t.database.db
      .insertInto('users')
      .values({ id: customer.id, email: 'race@example.test', name: 'Race', password_hash: 'x', role: 'customer' })
      .execute();
  });
  after(() => t.drop());

  async function product(stock: number, price = 1000): Promise<string> {
    const id = newId('prd');
    await t.database.db
      .insertInto('products')
      .values({ id, sku: `RACE-${id}`, name: 'Race', description: null, price_amount: price, currency: 'usd', stock })
      .execute();
    return id;
  }
  const stockOf = async (id: string) =>
    (await t.database.db.selectFrom('products').select('stock').where('id', '=', id).executeTakeFirstOrThrow()).stock;
  const ordersOfCustomer = async () =>
    t.database.db.selectFrom('orders').select(['id', 'total_amount']).where('user_id', '=', customer.id).execute();
  const outboxOfCustomer = async () =>
    t.database.db.selectFrom('outbox').select('id').where('user_id', '=', customer.id).execute();

  it('a price changed after the read: the write refuses itself and the order is priced again at the new price', async () => {
    const id = await product(10, 1200);
    const race = new StaleFirstRead((row) => (row.price_amount = 1000));
    const before = (await ordersOfCustomer()).length;
    const order = await placeOrder(deps(race), customer, { items: [{ productId: id, quantity: 2 }] });
    assert.equal(order.total.amount, 2400);
    assert.equal(order.items[0]!.unitPrice.amount, 1200);
    // read, refused write, read again, write.
    assert.equal(race.count, 4);
    assert.equal(await stockOf(id), 8);
    const stored = await ordersOfCustomer();
    assert.equal(stored.length, before + 1);
    assert.equal(Number(stored.find((o) => o.id === order.id)!.total_amount), 2400);
  });

  it('the account is checked once per request: disabled during a retry after a race, the order still goes', async () => {
    // Authentication checked it once per request before (a 401 after the key was settled would be recorded under
    // the key and replayed for a day): the retry's read is not checked again.
    const id = await product(10, 1200);
    class DisabledAtSecondRead extends StaleFirstRead {
      override transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
        if (this.count === 3)
          for (const row of args.result.rows) (row as { disabled_at: Date }).disabled_at = new Date();
        return super.transformResult(args);
      }
    }
    const race = new DisabledAtSecondRead((row) => (row.price_amount = 1000));
    const order = await placeOrder(deps(race), customer, { items: [{ productId: id, quantity: 1 }] });
    assert.equal(race.count, 4, 'read, refused write, read again, write');
    assert.equal(order.total.amount, 1200);
    assert.equal(await stockOf(id), 9);
  });

  it('stock taken by someone else after the read: 409 insufficient_stock, nothing written', async () => {
    const id = await product(1);
    const race = new StaleFirstRead((row) => (row.stock = 3));
    const [orders, outbox] = [(await ordersOfCustomer()).length, (await outboxOfCustomer()).length];
    await assert.rejects(
      placeOrder(deps(race), customer, { items: [{ productId: id, quantity: 2 }] }),
      (error: unknown) => error instanceof AppError && error.code === 'insufficient_stock',
    );
    assert.equal(await stockOf(id), 1);
    assert.equal(race.count, 3, 'read, refused write, read again');
    assert.equal((await ordersOfCustomer()).length, orders);
    assert.equal((await outboxOfCustomer()).length, outbox);
  });

  it('of two lines, one refused: the other line’s reservation is undone with it', async () => {
    const [a, b] = [await product(5), await product(5)];
    await t.database.db.updateTable('products').set({ active: false }).where('id', '=', b).execute();
    const race = new StaleFirstRead((row) => (row.active = true));
    const orders = (await ordersOfCustomer()).length;
    await assert.rejects(
      placeOrder(deps(race), customer, {
        items: [
          { productId: a, quantity: 1 },
          { productId: b, quantity: 1 },
        ],
      }),
      (error: unknown) => error instanceof AppError && error.code === 'validation_failed',
    );
    assert.deepEqual([await stockOf(a), await stockOf(b)], [5, 5]);
    assert.equal(race.count, 3, 'read, refused write, read again');
    assert.equal((await ordersOfCustomer()).length, orders);
  });

  it('an idempotency key taken over meanwhile: 409, and neither stock nor order is written', async () => {
    const id = await product(4);
    const key = `taken-${id}`;
    // The key as another request now holds it (its lease id is not ours).
    await t.database.db
      .insertInto('idempotency_keys')
      .values({
        scope: customer.id,
        key,
        method: 'POST',
        route: '/api/v1/orders/',
        fingerprint: 'x',
        state: 'in_progress',
        lease_id: 'someone-else',
        locked_until: new Date(Date.now() + 60_000),
        created_at: new Date(),
        updated_at: new Date(),
      })
      .execute();
    const orders = (await ordersOfCustomer()).length;
    await assert.rejects(
      placeOrder(
        deps(),
        customer,
        { items: [{ productId: id, quantity: 1 }] },
        orderRecordedUnder({ scope: customer.id, key, leaseId: 'ours' }),
      ),
      (error: unknown) => error instanceof AppError && error.code === 'idempotency_request_in_progress',
    );
    assert.equal(await stockOf(id), 4);
    assert.equal((await ordersOfCustomer()).length, orders);
  });

  it('a deferred key recorded by another request meanwhile: 409, nothing written, the other answer kept', async () => {
    const id = await product(4);
    const key = `recorded-${id}`;
    const request = { scope: customer.id, key, method: 'POST', route: '/api/v1/orders/', fingerprint: 'f' };
    // What the other request's statement left: the key, done, with its answer.
    await t.database.db
      .insertInto('idempotency_keys')
      .values({
        ...request,
        state: 'done',
        response_status: 409,
        response_body: JSON.stringify({ code: 'insufficient_stock' }),
        created_at: new Date(),
        updated_at: new Date(),
      })
      .execute();
    const orders = (await ordersOfCustomer()).length;
    await assert.rejects(
      placeOrder(
        deps(),
        customer,
        { items: [{ productId: id, quantity: 1 }] },
        orderRecordedUnder({ scope: customer.id, key, request }),
      ),
      (error: unknown) => error instanceof AppError && error.code === 'idempotency_request_in_progress',
    );
    assert.equal(await stockOf(id), 4);
    assert.equal((await ordersOfCustomer()).length, orders);
    const kept = await t.database.db
      .selectFrom('idempotency_keys')
      .select(['state', 'response_status'])
      .where('scope', '=', customer.id)
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    assert.deepEqual(kept, { state: 'done', response_status: 409 });
  });

  it('a deferred key is written by the order statement itself, done, with the answer', async () => {
    const id = await product(4);
    const key = `mine-${id}`;
    const request = { scope: customer.id, key, method: 'POST', route: '/api/v1/orders/', fingerprint: 'f' };
    const counter = new CountStatements();
    const placed = (await placeOrder(
      deps(counter),
      customer,
      { items: [{ productId: id, quantity: 1 }] },
      orderRecordedUnder({ scope: customer.id, key, request }),
    ))!;
    assert.equal(counter.count, 2, 'read and write: the key costs no statement of its own');
    const row = await t.database.db
      .selectFrom('idempotency_keys')
      .select(['state', 'response_status', 'response_body', 'lease_id', 'fingerprint'])
      .where('scope', '=', customer.id)
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    assert.equal(row.state, 'done');
    assert.equal(row.response_status, 201);
    assert.equal(row.lease_id, null);
    assert.equal(row.fingerprint, 'f');
    assert.equal((row.response_body as { id: string }).id, placed.id);
    assert.equal(await stockOf(id), 3);
  });
});
