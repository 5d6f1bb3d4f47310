import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { call, createUser } from '../../helpers.ts';
import { solidPng } from '../../png.ts';
import { createProduct } from '../../shop.ts';
import {
  assertAccessible,
  assertNoHorizontalOverflow,
  startBrowserShop,
  type BrowserShop,
  waitInPage,
  type User,
} from './support.ts';

/**
 * Issue 13 point 2, products: the dashboard creates and edits products (price typed in the currency's units,
 * currency from a list, an uploaded image, only changed fields sent), and the storefront shows images, a
 * product page and a search by name — at 1280 and 390 px.
 */
describe('browser: products in the dashboard and the storefront', () => {
  let shop: BrowserShop;
  let admin: User;

  before(async () => {
    shop = await startBrowserShop();
    admin = await createUser(shop.app, 'admin');
  });
  after(() => shop.close());

  const productRow = async (sku: string) =>
    shop.app.database.db
      .selectFrom('products')
      .leftJoin('product_images', 'product_images.product_id', 'products.id')
      .select(['products.id', 'price_amount', 'currency', 'stock', 'active', 'image_url', 'content_type'])
      .where('sku', '=', sku)
      .executeTakeFirstOrThrow();
  /** Whether the image has loaded and has pixels (a broken image has naturalWidth 0). */
  const drawn = (page: Page, selector: string) =>
    waitInPage(
      page,
      `(() => { const i = document.querySelector(${JSON.stringify(selector)}); return i && i.complete && i.naturalWidth > 0; })()`,
    );

  const openProductsTab = async (width: number): Promise<Page> => {
    const page = await shop.staffPage(admin, width);
    await page.goto(`${shop.app.baseUrl}/admin`);
    await page.locator('#whoami').filter({ hasText: '(admin)' }).waitFor();
    if (width < 760) await page.getByRole('button', { name: 'Menu' }).click();
    await page.locator('[data-tab=products]').click();
    await page.locator('#products-tab').waitFor();
    return page;
  };

  for (const width of [1280, 390]) {
    it(`the dashboard creates a product in units with a currency from the list and an image, then edits it (${width} px)`, async () => {
      const errorsBefore = shop.pageErrors.length;
      const page = await openProductsTab(width);
      const form = page.locator('#product-form');
      const sku = `UI-${width}-${Date.now()}`;
      assert.equal(await form.getByLabel('Currency', { exact: true }).evaluate((e) => e.tagName), 'SELECT');
      await form.getByLabel('SKU', { exact: true }).fill(sku);
      await form.getByLabel('Name', { exact: true }).fill(`Poster ${width}`);
      await form.getByLabel('Description', { exact: true }).fill('A red poster.\nPrinted on thick paper.');
      await form.getByLabel('Currency', { exact: true }).selectOption('usd');
      await form.getByLabel('Price', { exact: true }).fill('12.505');
      await form.getByLabel('Stock', { exact: true }).fill('7');
      await form.getByLabel(/^Image/).setInputFiles({
        name: 'poster.png',
        mimeType: 'image/png',
        buffer: solidPng(40, 30, [210, 40, 40]),
      });
      await form.getByRole('button', { name: 'Create' }).click();
      // Three decimals are not dollars: the page says so and sends nothing.
      await page.locator('#product-form-error').filter({ hasText: 'at most 2 decimals' }).waitFor();
      await form.getByLabel('Price', { exact: true }).fill('12.50');
      await assertAccessible(page, `product editor at ${width} px`);
      await form.getByRole('button', { name: 'Create' }).click();
      const row = page.locator('#products tr').filter({ hasText: sku });
      await row.filter({ hasText: '$12.50' }).waitFor();
      let stored = await productRow(sku);
      assert.deepEqual(
        [stored.price_amount, stored.currency, stored.stock, stored.active, stored.content_type],
        [1250, 'usd', 7, true, 'image/png'],
      );
      await drawn(page, `#products tr[data-product-id="${stored.id}"] img`);
      await assertNoHorizontalOverflow(page, `admin products at ${width} px`);
      await assertAccessible(page, `admin products at ${width} px`);
      await page.screenshot({ path: `/tmp/wt13b-admin-products-${width}.png`, fullPage: true });

      // Edit: yen have no decimals; only what changed is sent.
      await row.getByRole('button', { name: `Edit Poster ${width}` }).click();
      await page
        .locator('#product-form-title')
        .filter({ hasText: `Edit Poster ${width}` })
        .waitFor();
      assert.equal(await form.getByLabel('Price', { exact: true }).inputValue(), '12.50');
      assert.equal(await form.getByLabel('SKU', { exact: true }).isDisabled(), true);
      await form.getByLabel('Currency', { exact: true }).selectOption('jpy');
      await form.getByLabel('Price', { exact: true }).fill('1500.5');
      await form.getByRole('button', { name: 'Save changes' }).click();
      await page.locator('#product-form-error').filter({ hasText: 'no decimals' }).waitFor();
      await form.getByLabel('Price', { exact: true }).fill('1500');
      await form.getByLabel(/^Active/).uncheck();
      await page.screenshot({ path: `/tmp/wt13b-admin-product-edit-${width}.png`, fullPage: true });
      const patch = page.waitForRequest((r) => r.method() === 'PATCH');
      await form.getByRole('button', { name: 'Save changes' }).click();
      assert.deepEqual((await patch).postDataJSON(), { price: { amount: 1500, currency: 'jpy' }, active: false });
      await row.filter({ hasText: '¥1,500' }).filter({ hasText: 'No' }).waitFor();
      stored = await productRow(sku);
      assert.deepEqual([stored.price_amount, stored.currency, stored.active], [1500, 'jpy', false]);
      assert.match(stored.image_url ?? '', /^\/api\/v1\/products\/prd_\w+\/image\?v=/);

      // Remove the image from the editor.
      await row.getByRole('button', { name: `Edit Poster ${width}` }).click();
      await form.getByLabel('Remove the image').check();
      await form.getByRole('button', { name: 'Save changes' }).click();
      await row.locator('span.thumb').waitFor();
      stored = await productRow(sku);
      assert.deepEqual([stored.image_url, stored.content_type], [null, null]);

      // A file that is not a PNG, JPEG or WebP is refused before it is sent.
      await row.getByRole('button', { name: `Edit Poster ${width}` }).click();
      await form
        .getByLabel(/^Image/)
        .setInputFiles({ name: 'x.svg', mimeType: 'image/svg+xml', buffer: Buffer.from('<svg/>') });
      await form.getByRole('button', { name: 'Save changes' }).click();
      await page.locator('#product-form-error').filter({ hasText: 'PNG, JPEG or WebP' }).waitFor();

      // The list searches by name on the server (inactive products too).
      await page.getByLabel('Search by name').fill(`poster ${width}`);
      await page.locator('#products-search').getByRole('button', { name: 'Search' }).click();
      await page
        .locator('#products tr')
        .filter({ hasNotText: `Poster ${width}` })
        .first()
        .waitFor({ state: 'detached' });
      assert.equal(await page.locator('#products tr').count(), 1);
      assert.deepEqual(shop.pageErrors.slice(errorsBefore), []);
      await page.close();
    });

    it(`the storefront shows images, searches by name and opens a product page with back and add to cart (${width} px)`, async () => {
      const errorsBefore = shop.pageErrors.length;
      const tag = `w${width}x${Date.now() % 100000}`;
      const lamp = await createProduct(shop.app, admin.token, { name: `Brass lamp ${tag}`, stock: 5 });
      await createProduct(shop.app, admin.token, { name: `Oak chair ${tag}`, stock: 3 });
      const put = await fetch(`${shop.app.baseUrl}/api/v1/admin/products/${lamp.id}/image`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'image/png' },
        body: solidPng(80, 60, [30, 120, 200]),
      });
      assert.equal(put.status, 200);
      await call(shop.app, 'PATCH', `/api/v1/admin/products/${lamp.id}`, {
        token: admin.token,
        body: { description: 'Warm light for a reading corner.' },
      });

      const page = await shop.newPage(width);
      await page.goto(shop.app.baseUrl);
      await page.locator(`#products li[data-product-id="${lamp.id}"]`).waitFor();
      await drawn(page, `#products li[data-product-id="${lamp.id}"] img`);

      await page.getByLabel('Search products').fill(`LAMP ${tag}`);
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page
        .locator('#products li.product')
        .filter({ hasText: `Oak chair ${tag}` })
        .waitFor({ state: 'detached' });
      assert.equal(await page.locator('#products li.product').count(), 1);
      await page.getByRole('button', { name: 'Show all' }).waitFor();
      await page
        .locator('#search-status')
        .filter({ hasText: `1 product found for “LAMP ${tag}”.` })
        .waitFor();
      await assertNoHorizontalOverflow(page, `storefront search at ${width} px`);
      await assertAccessible(page, `storefront search at ${width} px`);
      await page.screenshot({ path: `/tmp/wt13b-store-search-${width}.png`, fullPage: true });

      await page.getByRole('link', { name: `Brass lamp ${tag}` }).click();
      await page
        .locator('#product-title')
        .filter({ hasText: `Brass lamp ${tag}` })
        .waitFor();
      assert.equal(new URL(page.url()).hash, `#product/${lamp.id}`);
      assert.equal(await page.locator('#catalog').isVisible(), false);
      await drawn(page, '#product-page img');
      await page.locator('#product-page').getByText('Warm light for a reading corner.').waitFor();
      await page.locator('#product-page').getByLabel('Quantity').fill('2');
      await page.locator('#product-page').getByRole('button', { name: 'Add to cart' }).click();
      await page
        .locator('#cart tr')
        .filter({ hasText: `Brass lamp ${tag}` })
        .waitFor();
      await assertNoHorizontalOverflow(page, `product page at ${width} px`);
      await assertAccessible(page, `product page at ${width} px`);
      await page.screenshot({ path: `/tmp/wt13b-store-product-${width}.png`, fullPage: true });

      await page.getByRole('link', { name: '← Back to products' }).click();
      await page.locator('#catalog').waitFor();
      assert.equal(await page.locator('#product-page').isVisible(), false);
      await page.getByRole('button', { name: 'Show all' }).click();
      await page
        .locator('#products li.product')
        .filter({ hasText: `Oak chair ${tag}` })
        .waitFor();

      // The address can be shared; an unknown product says so.
      await page.goto(`${shop.app.baseUrl}/#product/prd_nosuchproduct000000`);
      await page.locator('#product-title').filter({ hasText: 'This product is not available' }).waitFor();
      await page.goBack();
      assert.deepEqual(
        shop.pageErrors.slice(errorsBefore).filter((e) => !e.includes('404')),
        [],
      );
      await page.close();
    });
  }
});
