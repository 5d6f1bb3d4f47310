import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';
import { call, startTestApp, type TestApp } from './helpers.ts';

const products = (app: TestApp, forwardedFor: string) =>
  call(app, 'GET', '/api/v1/products', { headers: { 'x-forwarded-for': forwardedFor } });

describe('TRUST_PROXY: rate limits per client behind a reverse proxy', () => {
  const apps: TestApp[] = [];
  after(async () => {
    for (const app of apps) await app.close();
  });

  it('unset: X-Forwarded-For is not believed, so a client cannot escape its limit by inventing addresses', async () => {
    const app = await startTestApp({ env: { API_RATE_LIMIT_PER_MINUTE: '3' } });
    apps.push(app);
    for (const address of ['203.0.113.1', '203.0.113.2', '203.0.113.3'])
      assert.equal((await products(app, address)).status, 200);
    assert.equal((await products(app, '203.0.113.4')).status, 429);
  });

  it('1 (one proxy hop): each forwarded client address has its own budget', async () => {
    const app = await startTestApp({ env: { API_RATE_LIMIT_PER_MINUTE: '3', TRUST_PROXY: '1' } });
    apps.push(app);
    for (let i = 0; i < 3; i += 1) assert.equal((await products(app, '203.0.113.10')).status, 200);
    assert.equal((await products(app, '203.0.113.10')).status, 429);
    // Another client behind the same proxy is not punished for the first one's requests.
    assert.equal((await products(app, '203.0.113.11')).status, 200);
    // With one trusted hop, only the address the proxy appended counts: a forged first entry changes nothing.
    assert.equal((await products(app, '198.51.100.7, 203.0.113.10')).status, 429);
  });

  it('accepts a hop count or a list of addresses, CIDRs and names; refuses anything else', () => {
    assert.equal(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY, 2);
    assert.deepEqual(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::1' }).TRUST_PROXY, [
      'loopback',
      '10.0.0.0/8',
      'fd00::1',
    ]);
    assert.equal(loadConfig({}).TRUST_PROXY, undefined);
    for (const bad of ['yes', 'loopback;rm', '10.0.0.0/8,', 'proxy.internal']) {
      assert.throws(
        () => loadConfig({ TRUST_PROXY: bad }),
        (error: unknown) => error instanceof ConfigError && error.problems[0]!.startsWith('config: TRUST_PROXY '),
        bad,
      );
    }
  });
});
