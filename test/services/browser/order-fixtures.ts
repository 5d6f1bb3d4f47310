import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { call, type TestApp } from '../../helpers.ts';
import { placeOrder, type TestProduct } from '../../shop.ts';
import type { User } from './support.ts';

/** Orders in the states the order detail shows, made through the API (manual payments: no gateway needed). */

export const ADDRESS = {
  name: 'Ada Lovelace',
  line1: '12 St James Sq',
  city: 'London',
  postalCode: 'SW1Y 4JH',
  country: 'GB',
};

/** A CREATED order of `quantity` units, with a shipping address. */
export async function createdOrder(app: TestApp, customer: User, product: TestProduct, quantity = 2): Promise<string> {
  const res = await placeOrder(app, customer.token, {
    items: [{ productId: product.id, quantity }],
    shippingAddress: ADDRESS,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.id as string;
}

/** Paid by a manual payment the admin confirmed; `refund` (minor units) refunded after; shipped when asked. */
export async function paidOrder(
  app: TestApp,
  customer: User,
  admin: User,
  product: TestProduct,
  options: { refund?: number; ship?: { carrier: string; trackingNumber: string } } = {},
): Promise<string> {
  const id = await createdOrder(app, customer, product);
  const checkout = await call(app, 'POST', `/api/v1/orders/${id}/checkout`, {
    token: customer.token,
    body: { provider: 'manual' },
    headers: { 'idempotency-key': randomUUID() },
  });
  assert.equal(checkout.status, 201, JSON.stringify(checkout.body));
  const paymentId = checkout.body.payment.id as string;
  const post = (path: string, body?: unknown, headers?: Record<string, string>) =>
    call(app, 'POST', path, { token: admin.token, ...(body ? { body } : {}), ...(headers ? { headers } : {}) });
  assert.equal((await post(`/api/v1/admin/payments/${paymentId}/confirm`)).status, 200);
  if (options.refund) {
    const refund = await post(
      `/api/v1/admin/payments/${paymentId}/refunds`,
      { amount: options.refund, reason: 'Dented box' },
      { 'idempotency-key': randomUUID() },
    );
    assert.equal(refund.status, 201, JSON.stringify(refund.body));
  }
  if (options.ship) assert.equal((await post(`/api/v1/admin/orders/${id}/ship`, options.ship)).status, 200);
  return id;
}
