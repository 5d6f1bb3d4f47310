import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestApp, type TestApp } from '../../test/helpers.ts';

/** What every page of web/ answers with: the same headers as before the stack was split (issue 11). */
const PAGE_HEADERS = [
  'accept-ranges',
  'access-control-expose-headers',
  'cache-control',
  'connection',
  'content-length',
  'content-security-policy',
  'content-type',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'date',
  'etag',
  'keep-alive',
  'last-modified',
  'origin-agent-cluster',
  'referrer-policy',
  'strict-transport-security',
  'vary',
  'x-content-type-options',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-request-id',
  'x-xss-protection',
];

/** What an API or operations answer carries instead of helmet's page headers (http/api-headers.ts, apiSecurityHeaders). */
const API_SECURITY: Record<string, string> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};
const SECURITY_HEADERS = Object.keys(API_SECURITY);
/** Helmet's headers for documents, which an API answer goes without. */
const PAGE_ONLY = [
  'cross-origin-opener-policy',
  'origin-agent-cluster',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
];

// Issue 11: API and operations routes never look for a file; pages keep their headers and stay out of the metrics.
describe('the HTTP stack', () => {
  let app: TestApp;
  let stats = 0;
  const realStat = fs.stat;
  before(async () => {
    app = await startTestApp();
    // express.static (through `send`) looks a path up with fs.stat: count those lookups.
    (fs as { stat: unknown }).stat = (...args: Parameters<typeof fs.stat>) => {
      stats += 1;
      return (realStat as (...a: unknown[]) => void)(...args);
    };
  });
  after(async () => {
    (fs as { stat: unknown }).stat = realStat;
    await app.close();
  });

  it('answers API and operations routes without a file-system lookup; pages do look', async () => {
    const admin = await createUser(app, 'admin');
    const created = await call(app, 'POST', '/api/v1/admin/products', {
      token: admin.token,
      body: { sku: `STACK-${process.pid}`, name: 'Vase', price: { amount: 100, currency: 'usd' }, stock: 1 },
    });
    assert.equal(created.status, 201);
    stats = 0;
    for (const path of [`/api/v1/products/${created.body.id}`, '/api/v1/products', '/api/v1/nothing', '/healthz']) {
      await call(app, 'GET', path);
    }
    assert.equal(stats, 0, 'no lookup for the API, its 404 or /healthz');
    assert.equal((await fetch(`${app.baseUrl}/admin`)).status, 200);
    assert.ok(stats > 0, 'the page was looked up (the counter works)');
  });

  it('answers pages with the headers they always had, CSP included', async () => {
    for (const path of ['/', '/admin', '/store.js']) {
      const res = await fetch(`${app.baseUrl}${path}`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      assert.deepEqual([...res.headers.keys()].sort(), PAGE_HEADERS, path);
      assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    }
  });

  it('answers API and operations routes with the security headers of an answer that is never a page', async () => {
    const admin = await createUser(app, 'admin');
    const listed = await call(app, 'GET', '/api/v1/products');
    assert.equal(listed.status, 200);
    for (const [method, path] of [
      ['GET', '/api/v1/products'],
      ['GET', '/api/v1/nothing'],
      ['GET', '/healthz'],
      ['POST', '/api/v1/auth/login'],
      ['GET', '/api/v1/admin/orders'],
    ] as const) {
      const res = await call(app, method, path, { ...(path.includes('admin') ? { token: admin.token } : {}) });
      assert.ok(res.status < 500, `${path}: ${res.status}`);
      const security = Object.fromEntries(SECURITY_HEADERS.map((name) => [name, res.headers.get(name)]));
      assert.deepEqual(security, API_SECURITY, `${method} ${path}`);
      for (const name of PAGE_ONLY) assert.equal(res.headers.get(name), null, `${path}: no ${name}`);
    }
    // A page keeps helmet's policy, not the API's.
    const page = await fetch(`${app.baseUrl}/admin`);
    await page.arrayBuffer();
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal(page.headers.get('x-frame-options'), 'SAMEORIGIN');
  });

  it('finds each route by its base path: a trailing slash, several modules on one base, case, and 404 past them', async () => {
    const { token } = await createUser(app, 'customer');
    assert.equal((await call(app, 'GET', '/api/v1/products/')).status, 200);
    // /api/v1/orders holds the orders module's routes and the payments module's checkout route.
    assert.equal((await call(app, 'GET', '/api/v1/orders', { token })).status, 200);
    const checkout = await call(app, 'POST', '/api/v1/orders/ord_nothere/checkout', {
      token,
      headers: { 'idempotency-key': 'stack-test-checkout' },
      body: {},
    });
    assert.equal(checkout.status, 404, JSON.stringify(checkout.body));
    assert.equal(checkout.body.code, 'not_found');
    assert.doesNotMatch(checkout.body.detail, /No route/, 'the checkout route answered, not the fall-through');
    for (const path of ['/api/v1/Products', '/API/v1/products', '/api/v1/products/prd_x/nothing', '/api/v1/nothing']) {
      const res = await call(app, 'GET', path);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.detail, `No route for GET ${path}.`, path);
    }
    assert.equal((await call(app, 'GET', '/healthz')).status, 200);
  });

  it('meters API and operations requests, not pages', async () => {
    await fetch(`${app.baseUrl}/admin`).then((r) => r.arrayBuffer());
    await call(app, 'GET', '/api/v1/products');
    await call(app, 'GET', '/healthz');
    const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
    assert.match(text, /http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/products",status="200"\}/);
    assert.match(text, /http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\}/);
    assert.doesNotMatch(text, /route="unmatched",status="200"/, 'a page is not an API request');
  });
});
