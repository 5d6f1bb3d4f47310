import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { call, createUser } from '../../helpers.ts';
import { createProduct, markPaid, placeOrder, type TestProduct } from '../../shop.ts';
import {
  assertAccessible,
  assertNoHorizontalOverflow,
  startBrowserShop,
  type BrowserShop,
  type User,
} from './support.ts';

/** Issue 13 point 3 (and 4 for the storefront): stock limits, truthful order states, refunds and tracking, 390 px. */
describe('browser: the storefront’s cart, checkout and order states', () => {
  let shop: BrowserShop;
  let admin: User;
  let product: TestProduct;

  before(async () => {
    shop = await startBrowserShop();
    admin = await createUser(shop.app, 'admin');
    product = await createProduct(shop.app, admin.token, {
      name: 'Brass lamp',
      price: { amount: 3000, currency: 'usd' },
      stock: 3,
    });
  });
  after(() => shop.close());

  const customerPage = async (user: User, path = '/', width = 1280): Promise<Page> => {
    const page = await shop.customerPage(user, width);
    await page.goto(`${shop.app.baseUrl}${path}`);
    await page.locator('#live').filter({ hasText: 'connected' }).waitFor();
    return page;
  };
  const order = async (user: User, quantity = 1): Promise<string> => {
    const res = await placeOrder(shop.app, user.token, { items: [{ productId: product.id, quantity }] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id as string;
  };
  const statusText = (page: Page, id: string) =>
    page.locator(`#orders tr[data-order-id="${id}"] .status`).textContent();

  it('the cart never holds more than the stock, and a short-stock answer names the product and what is left', async () => {
    const user = await createUser(shop.app);
    const page = await customerPage(user);
    const item = page.locator(`li.product[data-product-id="${product.id}"]`);
    await item.locator('input.qty').fill('5');
    await item.getByRole('button', { name: 'Add to cart' }).click();
    await page.locator('#notice').filter({ hasText: 'Only 3 of Brass lamp in stock' }).waitFor();
    assert.equal(await page.locator('#cart input.qty').inputValue(), '3');
    await page.locator('#cart input.qty').fill('9');
    await page.locator('#cart input.qty').dispatchEvent('change');
    assert.equal(await page.locator('#cart input.qty').inputValue(), '3');

    // Someone else buys two meanwhile: the order is refused, naming the product.
    await order(await createUser(shop.app), 2);
    const address = page.locator('#address');
    await address.getByLabel('Full name').fill('Ada');
    await address.getByLabel('Address', { exact: true }).fill('1 Way');
    await address.getByLabel('Postal code').fill('10115');
    await address.getByLabel('City').fill('Berlin');
    await page.locator('#place-order').click();
    await page.locator('#notice.error').filter({ hasText: 'Not enough stock for Brass lamp (1 left)' }).waitFor();
    assert.equal(await page.locator('#cart input.qty').inputValue(), '1', 'the cart follows the stock');
    await page.close();
  });

  it('the list and the return panel say the same: processing after success, not paid after cancel, expired', async () => {
    await shop.app.database.db.updateTable('products').set({ stock: 100 }).where('id', '=', product.id).execute();
    const user = await createUser(shop.app);
    const id = await order(user);
    const checkout = await call(shop.app, 'POST', `/api/v1/orders/${id}/checkout`, {
      token: user.token,
      body: {},
      headers: { 'idempotency-key': `c-${id}` },
    });
    assert.equal(checkout.status, 201);

    const success = await customerPage(user, `/?order=${id}&checkout=success`);
    await success.locator('#return-status').filter({ hasText: 'Payment processing…' }).waitFor();
    assert.equal(await statusText(success, id), 'Payment processing…');
    // Nothing refunded: no refund line, and no stray "null" where it would be (append() writes null as text).
    await success.locator('#return-items').filter({ hasText: 'Total:' }).waitFor();
    assert.doesNotMatch(await success.locator('#return').innerText(), /null|undefined|NaN/);
    await success.close();

    const left = await customerPage(user, `/?order=${id}&checkout=cancel`);
    await left.locator('#return-status').filter({ hasText: 'Awaiting payment — not paid yet' }).waitFor();
    assert.equal(await statusText(left, id), 'Awaiting payment — not paid yet');
    // Paid after all (the customer went back and paid): both change, live.
    await markPaid(shop.app, id);
    await left.locator('#return-status').filter({ hasText: 'Payment received — order PAID' }).waitFor();
    assert.equal(await statusText(left, id), 'Payment received — order PAID');
    await left.close();

    const expired = await order(user);
    await shop.app.database.db.transaction().execute(async (trx) => {
      const { transitionOrder } = await import('../../../src/modules/orders/index.ts');
      await transitionOrder(trx, expired, 'CANCELLED', {
        actor: { system: 'expiry' },
        at: new Date(),
        reason: 'expired',
      });
    });
    const page = await customerPage(user, `/?order=${expired}&checkout=success`);
    await page.locator('#return-status').filter({ hasText: 'Expired — not paid' }).waitFor();
    assert.equal(await statusText(page, expired), 'Expired — not paid');
    await page.close();
  });

  it('refunded amounts and tracking are shown to the customer', async () => {
    const user = await createUser(shop.app);
    const id = await order(user, 2);
    await markPaid(shop.app, id);
    const shipped = await call(shop.app, 'POST', `/api/v1/admin/orders/${id}/ship`, {
      token: admin.token,
      body: { carrier: 'UPS', trackingNumber: '1Z42' },
    });
    assert.equal(shipped.status, 200);
    // What a partial refund leaves on the order (refunds are the payments module's; here only what is shown).
    await shop.app.database.db.updateTable('orders').set({ refunded_amount: 1250 }).where('id', '=', id).execute();
    const page = await customerPage(user, `/?order=${id}`);
    await page.locator('#return-status').filter({ hasText: 'Shipped — $12.50 refunded' }).waitFor();
    await page.locator('#return-detail').filter({ hasText: 'UPS 1Z42' }).waitFor();
    await page.locator('#return-items .refunded').filter({ hasText: 'Refunded: $12.50' }).waitFor();
    await page.locator(`#orders tr[data-order-id="${id}"]`).getByText('Tracking: UPS 1Z42').waitFor();
    assert.equal(await statusText(page, id), 'Shipped — $12.50 refunded');
    await page.close();
  });

  it('an order paid while the list is still loading stays PAID when the older list arrives', async () => {
    await shop.app.database.db.updateTable('products').set({ stock: 100 }).where('id', '=', product.id).execute();
    const user = await createUser(shop.app);
    const id = await order(user);
    // Every list answer the page asks for before the payment is read then, and handed over only after the page has
    // shown the payment live: such an answer must not put CREATED back.
    let holding = true;
    const read: Promise<unknown>[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const page = await shop.customerPage(user);
    await page.route('**/api/v1/orders?*', async (route) => {
      if (!holding) return route.continue();
      const answer = route.fetch();
      read.push(answer);
      const response = await answer;
      await released;
      await route.fulfill({ response });
    });
    await page.goto(`${shop.app.baseUrl}/`);
    await page.locator('#live').filter({ hasText: 'connected' }).waitFor();
    await Promise.all(read);
    assert.ok(read.length > 0, 'the page asked for its list');
    holding = false;
    await markPaid(shop.app, id);
    await page
      .locator(`#orders tr[data-order-id="${id}"] .status`)
      .filter({ hasText: /order PAID/ })
      .waitFor();
    const paidText = await statusText(page, id);
    assert.equal(await page.locator('#orders[aria-busy="true"]').count(), 1, 'the list answer is still held');
    release();
    await page.locator('#orders:not([aria-busy])').waitFor();
    assert.equal(await page.locator(`#orders tr[data-order-id="${id}"]`).count(), 1);
    assert.equal(await statusText(page, id), paidText);
    await page.close();
  });

  it('at 1280 and 390 px: no sideways scroll, no serious axe violations, logged out and in', async () => {
    const user = await createUser(shop.app);
    await order(user);
    for (const width of [1280, 390]) {
      const out = await shop.newPage(width);
      await out.goto(`${shop.app.baseUrl}/`);
      await out.locator('li.product').first().waitFor();
      await assertNoHorizontalOverflow(out, `storefront logged out at ${width}`);
      await assertAccessible(out, `storefront logged out at ${width}`);
      await out.close();
      const page = await customerPage(user, '/', width);
      await page.locator('#orders tr[data-order-id]').first().waitFor();
      await page
        .locator(`li.product[data-product-id="${product.id}"]`)
        .getByRole('button', { name: 'Add to cart' })
        .click();
      await page.locator('#address').waitFor();
      await assertNoHorizontalOverflow(page, `storefront at ${width}`);
      await assertAccessible(page, `storefront at ${width}`);
      await page.screenshot({ path: `/tmp/storefront-${width}.png`, fullPage: true });
      await page.close();
    }
  });
});
