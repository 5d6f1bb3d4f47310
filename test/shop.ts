import { randomUUID } from 'node:crypto';
import { transitionOrder } from '../src/modules/orders/index.ts';
import { call, type JsonResponse, type TestApp } from './helpers.ts';

/** Catalog and order helpers for tests of orders, payments and realtime. */

let skuSeq = 0;

export interface TestProduct {
  id: string;
  sku: string;
  name: string;
  price: { amount: number; currency: string };
  stock: number;
}

/** Creates a product through the admin API (adminToken: an admin's access token). */
export async function createProduct(
  app: TestApp,
  adminToken: string,
  overrides: { price?: { amount: number; currency: string }; stock?: number; name?: string; active?: boolean } = {},
): Promise<TestProduct> {
  skuSeq += 1;
  const res = await call(app, 'POST', '/api/v1/admin/products', {
    token: adminToken,
    body: {
      sku: `T-${process.pid}-${skuSeq}-${randomUUID().slice(0, 8)}`,
      name: overrides.name ?? `Product ${skuSeq}`,
      price: overrides.price ?? { amount: 1000, currency: 'usd' },
      stock: overrides.stock ?? 100,
      ...(overrides.active === undefined ? {} : { active: overrides.active }),
    },
  });
  if (res.status !== 201) throw new Error(`createProduct: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as TestProduct;
}

export async function stockOf(app: TestApp, productId: string): Promise<number> {
  const row = await app.database.db
    .selectFrom('products')
    .select('stock')
    .where('id', '=', productId)
    .executeTakeFirstOrThrow();
  return row.stock;
}

/** POST /api/v1/orders with a fresh Idempotency-Key unless one is given. */
export function placeOrder(
  app: TestApp,
  token: string,
  body: unknown,
  key: string = randomUUID(),
): Promise<JsonResponse> {
  return call(app, 'POST', '/api/v1/orders', { token, body, headers: { 'idempotency-key': key } });
}

/** Marks an order PAID as the payments module will (system actor, inside a transaction). */
export async function markPaid(app: TestApp, orderId: string): Promise<void> {
  await app.database.db
    .transaction()
    .execute((trx) => transitionOrder(trx, orderId, 'PAID', { actor: { system: 'payments' }, at: new Date() }));
}
