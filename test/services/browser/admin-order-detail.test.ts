import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Page } from 'playwright-core';
import { transitionOrder } from '../../../src/modules/orders/index.ts';
import { call, createUser } from '../../helpers.ts';
import { createProduct, markPaid, type TestProduct } from '../../shop.ts';
import { createdOrder, paidOrder } from './order-fixtures.ts';
import {
  assertAccessible,
  assertNoHorizontalOverflow,
  startBrowserShop,
  type BrowserShop,
  type User,
} from './support.ts';

/**
 * Issue 13 point 2 in the admin dashboard: the list (customer e-mail, item count, search by id or e-mail, status
 * and day filters, pages), the order detail (live, actions with If-Match) and the home tab with its chart.
 */
describe('browser: admin order detail, search and filters, dashboard home', () => {
  let shop: BrowserShop;
  let admin: User;
  let otherAdmin: User;
  let alice: User;
  let bob: User;
  let product: TestProduct;

  before(async () => {
    shop = await startBrowserShop();
    admin = await createUser(shop.app, 'admin');
    otherAdmin = await createUser(shop.app, 'admin');
    alice = await createUser(shop.app, 'customer');
    bob = await createUser(shop.app, 'customer');
    product = await createProduct(shop.app, admin.token, {
      name: 'Walnut tray',
      price: { amount: 2500, currency: 'usd' },
      stock: 1000,
    });
  });
  after(() => shop.close());

  const row = (page: Page, id: string) => page.locator(`#orders tr[data-order-id="${id}"]`);
  const detail = (page: Page) => page.locator('#order-detail');
  const openDashboard = async (width = 1280, live = true): Promise<Page> => {
    const page = await shop.staffPage(admin, width);
    if (!live) await page.route('**/socket.io/**', (route) => route.abort());
    await page.goto(`${shop.app.baseUrl}/admin`);
    if (live) await page.locator('#live').filter({ hasText: 'Live' }).waitFor();
    await page.locator('#orders:not([aria-busy])').waitFor({ state: 'attached' });
    return page;
  };
  const search = async (page: Page, fields: { q?: string; from?: string; to?: string }) => {
    const form = page.locator('#order-find');
    await form.getByLabel('Order id or email').fill(fields.q ?? '');
    await form.getByLabel('From').fill(fields.from ?? '');
    await form.getByLabel('To').fill(fields.to ?? '');
    await form.getByRole('button', { name: 'Search' }).click();
  };
  const listed = async (page: Page): Promise<string[]> =>
    page.locator('#orders tr[data-order-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-order-id')!));

  it('the list names the customer by e-mail, counts items, and finds orders by e-mail or id', async () => {
    const mine = await createdOrder(shop.app, alice, product, 3);
    const theirs = await createdOrder(shop.app, bob, product, 1);
    const page = await openDashboard();
    await row(page, mine).getByText(alice.email).waitFor();
    assert.equal(await row(page, mine).locator('td[data-label="Items"]').textContent(), '3');
    await page.screenshot({ path: '/tmp/wt13a-admin-list-1280.png', fullPage: true });

    await search(page, { q: ` ${alice.email.toUpperCase()} ` });
    await row(page, theirs).waitFor({ state: 'detached' });
    await row(page, mine).waitFor();
    const customers = await page.locator('#orders td.customer').allTextContents();
    assert.ok(
      customers.every((c) => c.startsWith(alice.email)),
      customers.join(),
    );

    await search(page, { q: theirs });
    await row(page, theirs).waitFor();
    assert.deepEqual(await listed(page), [theirs]);

    await search(page, { q: 'ord_doesnotexist' });
    await page.locator('#orders').getByText('No order ord_doesnotexist.').waitFor();
    await search(page, { q: 'alice' });
    await page.locator('#notice').filter({ hasText: 'Type an order id (ord_…) or a customer’s e-mail' }).waitFor();
    await page.close();
  });

  it('filters by status and by the days placed, and pages with More', async () => {
    const carol = await createUser(shop.app, 'customer');
    const old = await createdOrder(shop.app, carol, product, 1);
    const paid = await createdOrder(shop.app, carol, product, 1);
    await markPaid(shop.app, paid);
    await shop.app.database.db
      .updateTable('orders')
      .set({ created_at: new Date(2026, 0, 10, 12) })
      .where('id', '=', old)
      .execute();
    const page = await openDashboard();
    await search(page, { q: carol.email, from: '2026-01-10', to: '2026-01-10' });
    await row(page, paid).waitFor({ state: 'detached' });
    assert.deepEqual(await listed(page), [old]);
    await search(page, { q: carol.email, from: '2026-01-11', to: '2026-01-10' });
    await page.locator('#notice').filter({ hasText: 'The “From” day is after the “To” day.' }).waitFor();

    await search(page, { q: carol.email });
    await page.locator('#order-status').selectOption('PAID');
    await row(page, old).waitFor({ state: 'detached' });
    assert.deepEqual(await listed(page), [paid]);

    // Pages of 50: 51 more orders of Carol's fill a page and a half.
    for (let i = 0; i < 51; i++) await createdOrder(shop.app, carol, product, 1);
    await page.locator('#order-status').selectOption('CREATED');
    await page.locator('#orders-more').waitFor();
    assert.equal((await listed(page)).length, 50);
    await page.locator('#orders-more').click();
    await page.locator('#orders-more').waitFor({ state: 'hidden' });
    const all = await listed(page);
    assert.equal(all.length, 52);
    assert.equal(new Set(all).size, 52);
    assert.equal(all.at(-1), old);
    await page.close();
  });

  it('the detail shows items, customer, address, payments and refunds, tracking and the timeline', async () => {
    const id = await paidOrder(shop.app, alice, admin, product, {
      refund: 500,
      ship: { carrier: 'UPS', trackingNumber: '1Z999' },
    });
    const unpaid = await createdOrder(shop.app, bob, product, 1);
    for (const width of [1280, 390]) {
      const page = await openDashboard(width);
      await search(page, { q: id });
      await row(page, id).getByRole('button', { name: id }).click();
      const panel = detail(page);
      await panel.locator('h2').filter({ hasText: id }).waitFor();
      for (const text of [
        'Walnut tray',
        `Test customer <${alice.email}>`,
        '12 St James Sq',
        'SW1Y 4JH London',
        '$50.00 — PARTIALLY_REFUNDED',
        'Refund $5.00 — SUCCEEDED',
        'Dented box',
        'UPS',
        '1Z999',
        'Order placed',
        'Refund completed',
      ])
        await panel.getByText(text, { exact: false }).first().waitFor();
      assert.equal(await panel.locator('ol.timeline li[data-type="order.shipped"]').count(), 1);
      await assertNoHorizontalOverflow(page, `admin order detail at ${width} px`);
      await assertAccessible(page, `admin order detail at ${width} px`);
      await page.screenshot({ path: `/tmp/wt13a-admin-detail-${width}.png`, fullPage: true });

      await search(page, { q: unpaid });
      await row(page, unpaid).getByRole('button', { name: unpaid }).click();
      await panel.getByText('cancelled automatically if not paid by then').waitFor();
      await panel.getByText('No payment yet.').waitFor();
      await panel.getByRole('button', { name: 'Close' }).click();
      await panel.waitFor({ state: 'hidden' });
      await page.close();
    }
  });

  it('the detail follows the staff feed, and its actions send If-Match: a stale Ship gets 412 and shows the new state', async () => {
    const id = await createdOrder(shop.app, alice, product, 1);
    const page = await openDashboard();
    await row(page, id).getByRole('button', { name: id }).click();
    const panel = detail(page);
    await panel
      .locator('.status')
      .filter({ hasText: /^CREATED$/ })
      .waitFor();
    await markPaid(shop.app, id); // live: the detail shows PAID and offers Ship
    await panel
      .locator('.status')
      .filter({ hasText: /^PAID$/ })
      .waitFor();
    await panel.locator('li[data-type="order.paid"]').waitFor();
    await page.close();

    // A page cut off from the feed: another admin ships meanwhile, this one's Ship is refused with 412.
    const stale = await openDashboard(1280, false);
    await row(stale, id).getByRole('button', { name: id }).click();
    await detail(stale)
      .locator('.status')
      .filter({ hasText: /^PAID$/ })
      .waitFor();
    await shop.app.database.db.transaction().execute((trx) =>
      transitionOrder(trx, id, 'SHIPPED', {
        actor: { id: otherAdmin.id, role: 'admin' },
        at: new Date(),
        shipment: { carrier: 'DHL', trackingNumber: 'THEIRS-9' },
      }),
    );
    await detail(stale).getByLabel(`Carrier for ${id}`).fill('UPS');
    await detail(stale).getByLabel(`Tracking number for ${id}`).fill('MINE-9');
    await detail(stale).getByRole('button', { name: 'Ship' }).click();
    await stale
      .locator('#notice')
      .filter({ hasText: 'changed while you were looking at it: it is now SHIPPED' })
      .waitFor();
    await detail(stale)
      .locator('.status')
      .filter({ hasText: /^SHIPPED$/ })
      .waitFor();
    await detail(stale).getByText('THEIRS-9').waitFor();
    await row(stale, id).getByText('DHL THEIRS-9').waitFor();
    const order = (await call(shop.app, 'GET', `/api/v1/orders/${id}`, { token: admin.token })).body;
    assert.equal(order.shipment.trackingNumber, 'THEIRS-9');

    // Delivering from the detail works and shows at once.
    await detail(stale).getByRole('button', { name: 'Mark delivered' }).click();
    await detail(stale)
      .locator('.status')
      .filter({ hasText: /^DELIVERED$/ })
      .waitFor();
    await stale.close();
  });

  it('the home tab: today’s figures, the inbox, and orders per minute drawn as bars, live', async () => {
    // The orders of this file spread over the last hour (within today), so the chart has bars of several heights.
    await sql`update orders set created_at = greatest(date_trunc('day', now()), now() - (abs(hashtext(id)) % 55) * interval '1 minute')
      where created_at > now() - interval '1 hour'`.execute(shop.app.database.db);
    for (const width of [1280, 390]) {
      const page = await openDashboard(width);
      if (width === 390) await page.getByRole('button', { name: 'Menu' }).click();
      await page.locator('[data-tab=home]').click();
      await page.locator('#home-chart').waitFor();
      const stats = (await call(shop.app, 'GET', '/api/v1/admin/stats', { token: admin.token })).body;
      assert.equal(await page.locator('#home-chart rect.chart-bar').count(), 60);
      const before = Number(await page.locator('#home-orders').textContent());
      assert.ok(before >= stats.today.orders - 1 && before > 0, `${before} vs ${stats.today.orders}`);
      await page.locator('#home-dead').waitFor();
      await page.locator('#home-flagged').waitFor();
      const tallest = await page
        .locator('#home-chart rect.chart-bar')
        .evaluateAll((bars) => Math.max(...bars.map((b) => Number(b.getAttribute('data-orders')))));
      assert.ok(tallest > 0, 'the orders placed by this test are in the last hour');

      await createdOrder(shop.app, bob, product, 1); // live: the figures are read again
      await page
        .locator('#home-orders')
        .filter({ hasText: String(before + 1) })
        .waitFor();
      await assertNoHorizontalOverflow(page, `admin home at ${width} px`);
      await assertAccessible(page, `admin home at ${width} px`);
      await page.screenshot({ path: `/tmp/wt13a-admin-home-${width}.png`, fullPage: true });
      await page.close();
    }
    // The 404 of the unknown id, the aborted feed and the 412 of the stale Ship are expected; nothing else.
    assert.deepEqual(
      shop.pageErrors.filter((e) => !e.startsWith('Failed to load resource')),
      [],
    );
  });
});
