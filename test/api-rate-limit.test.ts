import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { call, startTestApp, type TestApp } from './helpers.ts';

describe('the per-address API rate limit (API_RATE_LIMIT_PER_MINUTE)', () => {
  const apps: TestApp[] = [];
  after(async () => {
    for (const app of apps) await app.close();
  });

  it('answers 429 rate_limited with Retry-After once an address is over its requests per minute', async () => {
    const app = await startTestApp({ env: { API_RATE_LIMIT_PER_MINUTE: '5' } });
    apps.push(app);
    for (let i = 0; i < 5; i += 1) assert.equal((await call(app, 'GET', '/api/v1/products')).status, 200);
    const over = await call(app, 'GET', '/api/v1/products');
    assert.equal(over.status, 429);
    assert.equal(over.body.code, 'rate_limited');
    assert.match(over.headers.get('content-type') ?? '', /application\/problem\+json/);
    const retryAfter = Number(over.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${over.headers.get('retry-after')}`);
  });

  it('0 turns the limit off', async () => {
    const app = await startTestApp({ env: { API_RATE_LIMIT_PER_MINUTE: '0' } });
    apps.push(app);
    for (let i = 0; i < 20; i += 1) assert.equal((await call(app, 'GET', '/api/v1/products')).status, 200);
  });
});
