import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { call, startTestApp, type TestApp } from '../../helpers.ts';
import { SERVICES } from '../support.ts';

/**
 * Issue 16's pages in a real browser, at a desktop width (1280 px) and a phone's (390 px): "forgot password" and
 * the reset page, the account page (name, e-mail, password, deletion), the notice to verify the address, and the
 * dashboard's Mail tab. Mailed links are read from the `mails` table, as the Mail tab shows them.
 */

const CHROMIUM = SERVICES.chromium;
const TIMEOUT = 20_000;
const PASSWORD = 'correct horse battery staple';
const WIDTHS = [1280, 390];

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('browser: account recovery and the account page', () => {
  let app: TestApp;
  let browser: Browser;
  const pageErrors: string[] = [];
  let seq = 0;

  before(async () => {
    app = await startTestApp({ env: { PORT: String(await freePort()), API_RATE_LIMIT_PER_MINUTE: '0' } });
    assert.equal(app.baseUrl, app.config.PUBLIC_URL, 'mailed links come back to this server');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-sync', '--no-first-run'],
    });
  });
  after(async () => {
    await browser?.close();
    await app?.built.realtime.close();
    await app?.close();
  });

  async function newPage(width: number): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    page.setDefaultTimeout(TIMEOUT);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    return page;
  }
  /** The page fits its width: nothing wider than the viewport (a phone would scroll sideways). */
  async function fits(page: Page, what: string) {
    // A string, so this file needs no DOM types: the browser runs it.
    const { scroll, client } = await page.evaluate<{ scroll: number; client: number }>(
      '({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })',
    );
    assert.ok(scroll <= client, `${what}: ${scroll}px wide in a ${client}px viewport`);
  }
  async function lastLink(to: string, kind: 'password_reset' | 'verify_email'): Promise<string> {
    const mail = await app.database.db
      .selectFrom('mails')
      .select('text_body')
      .where('to_address', '=', to)
      .where('event_key', 'like', `${kind}:%`)
      .orderBy('created_at', 'desc')
      .executeTakeFirstOrThrow();
    const link = /(http\S+token=[\w-]+)/.exec(mail.text_body)?.[1];
    assert.ok(link !== undefined && link.startsWith(app.baseUrl), mail.text_body);
    return link;
  }
  const email = (tag: string) => `${tag}-${++seq}-${Date.now()}@example.test`;
  async function registerInBrowser(page: Page, address: string) {
    await page.goto(`${app.baseUrl}/`);
    const form = page.locator('#register-form');
    await form.locator('input[name=name]').fill('Ada Account');
    await form.locator('input[name=email]').fill(address);
    await form.locator('input[name=password]').fill(PASSWORD);
    await form.locator('button[type=submit]').click();
    await page.locator('#whoami').filter({ hasText: address }).waitFor();
  }
  async function logIn(page: Page, address: string, password: string) {
    await page.goto(`${app.baseUrl}/`);
    const form = page.locator('#login-form');
    await form.locator('input[name=email]').fill(address);
    await form.locator('input[name=password]').fill(password);
    await form.locator('button[type=submit]').click();
  }

  for (const width of WIDTHS) {
    it(`forgot password → mailed link → new password → log in with it (${width} px)`, async () => {
      const address = email('reset');
      const registered = await call(app, 'POST', '/api/v1/auth/register', {
        body: { email: address, password: PASSWORD, name: 'Rae Reset' },
      });
      assert.equal(registered.status, 201);
      const page = await newPage(width);
      await page.goto(`${app.baseUrl}/`);
      await page.getByRole('link', { name: 'Forgot your password?' }).click();
      await page.waitForURL(`${app.baseUrl}/reset`);
      await page.locator('#ask-form input[name=email]').fill(address);
      await page.getByRole('button', { name: 'Mail me a link' }).click();
      await page.locator('#notice.ok').filter({ hasText: 'a link is on its way' }).waitFor();
      await fits(page, 'the forgot-password page');

      await page.goto(await lastLink(address, 'password_reset'));
      const choose = page.locator('#choose-form');
      await choose.locator('input[name=password]').fill('a new and better password');
      await choose.locator('input[name=repeat]').fill('a new and different password');
      await choose.locator('button[type=submit]').click();
      await page.locator('#notice.error').filter({ hasText: 'The two passwords differ.' }).waitFor();
      await choose.locator('input[name=password]').fill('Password1234!');
      await choose.locator('input[name=repeat]').fill('Password1234!');
      await choose.locator('button[type=submit]').click();
      await page.locator('#notice.error').filter({ hasText: 'not allowed' }).waitFor();
      await choose.locator('input[name=password]').fill('a new and better password');
      await choose.locator('input[name=repeat]').fill('a new and better password');
      await choose.locator('button[type=submit]').click();
      await page.getByRole('heading', { name: 'Your password is set' }).waitFor();
      assert.equal(new URL(page.url()).search, '', 'the token leaves the address bar');
      await fits(page, 'the reset page');

      await logIn(page, address, PASSWORD);
      await page.locator('#notice.error').filter({ hasText: 'Wrong e-mail or password' }).waitFor();
      await logIn(page, address, 'a new and better password');
      await page.locator('#whoami').filter({ hasText: address }).waitFor();
      await page.close();
    });

    it(`the account page: verify notice, name, e-mail, password, deletion (${width} px)`, async () => {
      const address = email('acct');
      const page = await newPage(width);
      await registerInBrowser(page, address);
      await page
        .locator('#verify-notice')
        .filter({ hasText: `Please verify ${address}` })
        .waitFor();
      await fits(page, 'the storefront');

      await page.getByRole('link', { name: 'Account' }).click();
      await page.waitForURL(`${app.baseUrl}/account`);
      await page.locator('#current-email').filter({ hasText: address }).waitFor();
      await fits(page, 'the account page');

      await page.locator('#name-form input[name=name]').fill('Ada Renamed');
      await page.getByRole('button', { name: 'Save name' }).click();
      await page.locator('#whoami').filter({ hasText: 'Ada Renamed' }).waitFor();

      const next = email('moved');
      const emailForm = page.locator('#email-form');
      await emailForm.locator('input[name=email]').fill(next);
      await emailForm.locator('input[name=password]').fill('not my password at all');
      await emailForm.locator('button[type=submit]').click();
      await page.locator('#notice.error').filter({ hasText: 'not this account' }).waitFor();
      await emailForm.locator('input[name=email]').fill(next);
      await emailForm.locator('input[name=password]').fill(PASSWORD);
      await emailForm.locator('button[type=submit]').click();
      await page
        .locator('#verify-notice')
        .filter({ hasText: `Your new address ${next}` })
        .waitFor();

      const verifyPage = await newPage(width);
      await verifyPage.goto(await lastLink(next, 'verify_email'));
      await verifyPage
        .locator('#verify-result.ok')
        .filter({ hasText: `${next} is verified` })
        .waitFor();
      await fits(verifyPage, 'the verify page');
      await verifyPage.close();
      await page.reload();
      await page.locator('#current-email').filter({ hasText: next }).waitFor();
      assert.equal(await page.locator('#verify-notice').isHidden(), true, 'nothing left to verify');

      const passwordForm = page.locator('#password-form');
      await passwordForm.locator('input[name=currentPassword]').fill(PASSWORD);
      await passwordForm.locator('input[name=newPassword]').fill('an even better password');
      await passwordForm.locator('button[type=submit]').click();
      await page.locator('#notice.ok').filter({ hasText: 'Your password is changed' }).waitFor();
      // Still signed in with the new pair.
      await page.reload();
      await page.locator('#current-email').filter({ hasText: next }).waitFor();

      const deleteForm = page.locator('#delete-form');
      await deleteForm.locator('input[name=password]').fill('an even better password');
      await deleteForm.locator('input[name=confirm]').check();
      await deleteForm.locator('button[type=submit]').click();
      await page.locator('#notice.ok').filter({ hasText: 'Your account is deleted.' }).waitFor();
      await page.locator('#signed-out').waitFor();
      const login = await call(app, 'POST', '/api/v1/auth/login', {
        body: { email: next, password: 'an even better password' },
      });
      assert.equal(login.status, 401);
      await page.close();
    });
  }

  it("the dashboard's Mail tab lists the mails and opens one with its link", async () => {
    const adminEmail = email('admin');
    const admin = await call(app, 'POST', '/api/v1/auth/register', {
      body: { email: adminEmail, password: PASSWORD, name: 'Ada Admin' },
    });
    await app.database.db.updateTable('users').set({ role: 'admin' }).where('id', '=', admin.body.user.id).execute();
    const customer = email('reader');
    await call(app, 'POST', '/api/v1/auth/register', { body: { email: customer, password: PASSWORD, name: 'Cy' } });
    await call(app, 'POST', '/api/v1/auth/password-reset', { body: { email: customer } });

    const page = await newPage(1280);
    await page.goto(`${app.baseUrl}/admin`);
    await page.locator('#login-form input[name=email]').fill(adminEmail);
    await page.locator('#login-form input[name=password]').fill(PASSWORD);
    await page.locator('#login-form button[type=submit]').click();
    await page.locator('#tabs').waitFor();
    await page.getByRole('button', { name: 'Mail', exact: true }).click();
    const rows = page.locator('#mails tr[data-mail-id]');
    await rows.first().waitFor();
    await page.locator('#mail-to').fill(customer);
    await page.locator('#mail-reload').click();
    // Only the customer's mails are left once the filtered page is in.
    await rows.filter({ hasNotText: customer }).first().waitFor({ state: 'detached' });
    await rows.filter({ hasText: 'Reset your Fulcrum password' }).waitFor();
    assert.equal(await rows.count(), 2, 'the reset and the verification mail');
    await rows.filter({ hasText: 'Reset your' }).getByRole('button').click();
    const link = page.locator('#mail-text a');
    await link.waitFor();
    assert.ok((await link.getAttribute('href'))?.startsWith(`${app.baseUrl}/reset?token=`));
    await page.close();
    assert.deepEqual(pageErrors, []);
  });
});
