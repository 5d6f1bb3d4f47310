import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  call,
  countingDatabase,
  createTestDatabase,
  createUser,
  startTestApp,
  type Counted,
  type TestApp,
  type TestDatabase,
} from '../../../test/helpers.ts';
import { createProduct, placeOrder, stockOf } from '../../../test/shop.ts';

type User = Awaited<ReturnType<typeof createUser>>;

// POST /orders reads the caller's account and Idempotency-Key with the products, in the order's first statement
// (issue 11): the route checks the account itself (accountCheckedByHandler) and looks the key up itself
// (lookupInHandler). These tests hold the count and what the account check must still refuse.
describe('orders: a request in two statements, the account still checked first', () => {
  let test: TestDatabase;
  let counted: Counted;
  let app: TestApp;
  let admin: User;
  before(async () => {
    test = await createTestDatabase();
    const counting = countingDatabase(test.database);
    counted = counting.counted;
    app = await startTestApp({ database: counting.database });
    admin = await createUser(app, 'admin');
  });
  after(async () => {
    await app.close();
    await test.drop();
  });

  const setAccount = (id: string, column: 'disabled_at' | 'deleted_at', at: Date | null) =>
    app.database.db
      .updateTable('users')
      .set({ [column]: at })
      .where('id', '=', id)
      .execute();
  const ordersOf = async (userId: string) =>
    (await app.database.db.selectFrom('orders').select('id').where('user_id', '=', userId).execute()).length;
  const keysOf = async (userId: string) =>
    (await app.database.db.selectFrom('idempotency_keys').select('key').where('scope', '=', userId).execute()).length;

  it('a new order is 2 statements in all (no account read, no key read of their own); its replay is 1', async () => {
    const customer = await createUser(app, 'customer');
    const product = await createProduct(app, admin.token, { stock: 10 });
    const body = { items: [{ productId: product.id, quantity: 2 }] };

    counted.reset();
    const first = await placeOrder(app, customer.token, body, 'two-statements');
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.deepEqual(
      { statements: counted.statements, transactions: counted.transactions },
      { statements: 2, transactions: 0 },
      'read (account, key, products) and write (order and key) — was 4: account, key, read, write',
    );

    counted.reset();
    const again = await placeOrder(app, customer.token, body, 'two-statements');
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal(counted.statements, 1, 'the replay is the read alone');
    assert.equal(await stockOf(app, product.id), 8);
  });

  it('a disabled account gets 401 account_disabled: no replay of its earlier order, no 400 first, nothing written', async () => {
    const customer = await createUser(app, 'customer');
    const product = await createProduct(app, admin.token, { stock: 10 });
    const body = { items: [{ productId: product.id, quantity: 1 }] };
    assert.equal((await placeOrder(app, customer.token, body, 'before-disabling')).status, 201);
    await setAccount(customer.id, 'disabled_at', new Date());

    const refusals = [
      ['the recorded key, same body', await placeOrder(app, customer.token, body, 'before-disabling')],
      ['a new key', await placeOrder(app, customer.token, body, 'after-disabling')],
      ['no key', await call(app, 'POST', '/api/v1/orders', { token: customer.token, body })],
      ['a malformed body', await placeOrder(app, customer.token, { items: 'many' }, 'malformed')],
      [
        'an unknown product',
        await placeOrder(app, customer.token, { items: [{ productId: 'prd_x', quantity: 1 }] }, 'u'),
      ],
    ] as const;
    for (const [what, res] of refusals) {
      assert.equal(res.status, 401, `${what}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 'account_disabled', what);
      assert.equal(res.headers.get('idempotent-replayed'), null, what);
    }
    assert.equal(await stockOf(app, product.id), 9);
    assert.equal(await ordersOf(customer.id), 1);
    assert.equal(await keysOf(customer.id), 1, 'only the key of the order placed before');

    await setAccount(customer.id, 'disabled_at', null);
    const enabled = await placeOrder(app, customer.token, body, 'before-disabling');
    assert.equal(enabled.headers.get('idempotent-replayed'), 'true', 'enabled again: the key replays as before');
  });

  it('a deleted account (its row kept for its orders) gets 401 unauthorized, its key not replayed', async () => {
    const customer = await createUser(app, 'customer');
    const product = await createProduct(app, admin.token, { stock: 10 });
    const body = { items: [{ productId: product.id, quantity: 1 }] };
    assert.equal((await placeOrder(app, customer.token, body, 'before-deleting')).status, 201);
    await setAccount(customer.id, 'deleted_at', new Date());
    for (const key of ['before-deleting', 'after-deleting']) {
      const res = await placeOrder(app, customer.token, body, key);
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.equal(res.body.code, 'unauthorized');
    }
    assert.equal(await stockOf(app, product.id), 9);
    assert.equal(await ordersOf(customer.id), 1);
  });
});
