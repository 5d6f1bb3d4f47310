import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort } from '../../process-helpers.ts';
import { SERVICES } from '../support.ts';

/**
 * The README's quick start, as a newcomer follows it: `npm start` on an empty data directory, open the
 * setup link the banner prints, create the admin, then as a customer open the shop, register, buy a
 * demo product paying with 4242 4242 4242 4242 on the sandbox's checkout page, and watch the order
 * turn PAID on the page without reloading it. Everything runs as the real process `npm start` starts.
 */

const TIMEOUT = 30_000;
const ROOT = new URL('../../../', import.meta.url).pathname;

describe('browser: the first run, from `npm start` to a paid order', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fulcrum-first-run-browser-'));
  let child: ChildProcessByStdio<null, Readable, Readable>;
  let exited: Promise<unknown[]>;
  let stdout = '';
  let stderr = '';
  let base = '';
  let sandbox = '';
  let setupLink = '';
  let browser: Browser;
  const pageErrors: string[] = [];
  let orderId = '';

  before(async () => {
    const [port, sandboxPort] = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${port}`;
    sandbox = `http://127.0.0.1:${sandboxPort}`;
    child = spawn('npm', ['start'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATA_DIR: dataDir,
        PORT: String(port),
        SANDBOX_PORT: String(sandboxPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    exited = once(child, 'exit');
    browser = await chromium.launch({
      executablePath: SERVICES.chromium,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  after(async () => {
    await browser?.close();
    if (child !== undefined && child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function newPage(): Promise<Page> {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      // The sandbox's own page is not the shop: only the shop's errors count.
      if (message.type() === 'error' && page.url().startsWith(base)) pageErrors.push(message.text());
    });
    return page;
  }

  it('npm start prints a banner with the shop, admin, docs and sandbox links, the test card and a setup link', async () => {
    const link = /(http:\/\/\S+\/admin\?setup=\S+)/;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (link.test(stdout)) {
          child.stdout.off('data', check);
          resolve();
        }
      };
      child.stdout.on('data', check);
      check();
      void exited.then(() => reject(new Error(`npm start exited:\n${stdout}\n${stderr}`)));
    });
    setupLink = link.exec(stdout)![1]!;
    assert.ok(setupLink.startsWith(`${base}/admin?setup=`), setupLink);
    assert.ok(stdout.includes(`${base}/ `), 'the storefront');
    assert.ok(stdout.includes(`${base}/admin `), 'the admin');
    assert.ok(stdout.includes(`${base}/docs `), 'the API docs');
    assert.ok(stdout.includes(sandbox), 'the sandbox');
    assert.ok(stdout.includes('4242 4242 4242 4242'), 'the test card');
  });

  it('the setup link opens "create the first admin"; the admin it makes lands on the dashboard', async () => {
    const page = await newPage();
    await page.goto(setupLink);
    const form = page.locator('#setup-form');
    await form.getByRole('heading', { name: 'Create the first admin' }).waitFor();
    assert.equal(await page.locator('#login').isVisible(), false, 'no login form while setup is needed');
    assert.equal(await page.locator('#setup-token-field').isVisible(), false, 'the token came with the link');
    await form.getByLabel('Name').fill('Ada Admin');
    await form.getByLabel('Email').fill('ada@example.test');
    await form.getByLabel(/^Password/).fill('correct horse battery');
    await form.getByRole('button', { name: 'Create admin' }).click();
    await page.locator('#whoami').filter({ hasText: 'ada@example.test (admin)' }).waitFor();
    await page.locator('#tabs').waitFor();
    await page.locator('#notice').filter({ hasText: 'you are the admin' }).waitFor();
    assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
    await page.close();

    // The link is spent: opened again, the page says an admin exists and offers the login.
    const again = await newPage();
    await again.goto(setupLink);
    await again.locator('#login-form').waitFor();
    await again.locator('#notice').filter({ hasText: 'has an admin already' }).waitFor();
    assert.equal(await again.locator('#setup').isVisible(), false);
    await again.close();
  });

  it('a customer registers on /, buys a demo product with 4242 and sees the order turn PAID live', async () => {
    const page = await newPage();
    await page.goto(`${base}/`);
    // The demo catalog, with its pictures.
    const mug = page.locator('li.product').filter({ hasText: 'Stoneware mug' });
    await mug.waitFor();
    assert.ok((await page.locator('li.product').count()) >= 8);
    // Once the picture has loaded (or failed to), it has a size unless it is broken.
    const loaded = await mug.locator('img').evaluate(async (img) => {
      const picture = img as unknown as {
        complete: boolean;
        naturalWidth: number;
        decode(): Promise<void>;
      };
      await picture.decode().catch(() => undefined);
      return picture.complete && picture.naturalWidth > 0;
    });
    assert.equal(loaded, true, 'the picture loaded');

    const register = page.locator('#register-form');
    await register.getByLabel('Name').fill('Grace Customer');
    await register.getByLabel('Email').fill('grace@example.test');
    await register.getByLabel(/^Password/).fill('correct horse battery');
    await register.getByRole('button', { name: 'Register' }).click();
    await page.locator('#whoami').filter({ hasText: 'grace@example.test' }).waitFor();

    await mug.getByRole('button', { name: 'Add to cart' }).click();
    await page.locator('#cart-total').filter({ hasText: '$18.00' }).waitFor();
    // The shipping address goes with the order; "Place order and pay" leads straight to the payment page.
    const address = page.locator('#address');
    await address.getByLabel('Full name').fill('Grace Customer');
    await address.getByLabel('Address', { exact: true }).fill('1 Compiler Road');
    await address.getByLabel('Postal code').fill('02139');
    await address.getByLabel('City').fill('Cambridge');
    const token = (await page.evaluate(
      () => JSON.parse(sessionStorage.getItem('fulcrum.shop')!).accessToken,
    )) as string;
    await page.getByRole('button', { name: 'Place order and pay' }).click();
    await page.waitForURL(`${sandbox}/checkout/**`);
    await page.locator('#total').filter({ hasText: '$18.00' }).waitFor();
    const mine = (await (
      await fetch(`${base}/api/v1/orders?limit=1`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { data: { id: string; status: string }[] };
    orderId = mine.data[0]?.id ?? '';
    assert.match(orderId, /^ord_/);
    assert.equal(mine.data[0]?.status, 'CREATED');
    // Webhooks are held back for a moment, so the page is seen waiting before the money is confirmed.
    const held = await fetch(`${sandbox}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ delayMs: 60_000 }),
    });
    assert.equal(held.status, 200);
    await page.locator('#card').fill('4242 4242 4242 4242');
    await page.getByRole('button', { name: /^Pay/ }).click();
    await page.waitForURL(`${base}/?order=${orderId}&checkout=success*`);
    const status = page.locator('#return-status');
    await status.filter({ hasText: 'Payment processing…' }).waitFor();
    await page.locator('#live').filter({ hasText: 'connected' }).waitFor();

    // From here on the page is not reloaded: whatever changes arrives over Socket.IO.
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    });
    await fetch(`${sandbox}/_sandbox/faults`, { method: 'DELETE' });
    await fetch(`${sandbox}/_sandbox/webhooks/flush`, { method: 'POST' });
    await status.filter({ hasText: 'Payment received — order PAID' }).waitFor({ timeout: 60_000 });
    await page.locator(`#orders tr[data-order-id="${orderId}"] .status`).filter({ hasText: 'PAID' }).waitFor();
    assert.equal(navigations, 0, 'the page was not reloaded');
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  it('the admin sees the paid order on the dashboard', async () => {
    assert.ok(orderId, 'the purchase ran first');
    const page = await newPage();
    await page.goto(`${base}/admin`);
    const login = page.locator('#login-form');
    await login.getByLabel('Email').fill('ada@example.test');
    await login.getByLabel('Password').fill('correct horse battery');
    await login.getByRole('button', { name: 'Log in' }).click();
    await page.locator(`#orders tr[data-order-id="${orderId}"] .status`).filter({ hasText: 'PAID' }).waitFor();
    assert.deepEqual(pageErrors, []);
    await page.close();
    assert.equal(child.exitCode, null, stderr);
  });
});
