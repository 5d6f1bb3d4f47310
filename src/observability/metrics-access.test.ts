import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, startTestApp, type TestApp } from '../../test/helpers.ts';

// docs/operations.md § Metrics: who may read /metrics.
const TOKEN = 'metrics-token-0123456789abcdef0123456789';

describe('/metrics is not public', () => {
  describe('with METRICS_TOKEN', () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp({ env: { METRICS_TOKEN: TOKEN } });
    });
    after(() => app.close());

    it('refuses a request without the token, or with another, with 401 and WWW-Authenticate', async () => {
      for (const authorization of [undefined, 'Bearer wrong-token', `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN]) {
        const res = await call(app, 'GET', '/metrics', {
          headers: authorization === undefined ? {} : { authorization },
        });
        assert.equal(res.status, 401, String(authorization));
        assert.equal(res.body.code, 'unauthorized');
        assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="metrics"');
        assert.doesNotMatch(JSON.stringify(res.body), /http_request_duration_seconds/);
      }
    });

    it('serves the metrics to a request bearing it', async () => {
      const res = await fetch(`${app.baseUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /^# HELP http_request_duration_seconds/m);
    });
  });

  it('in production without METRICS_TOKEN, /metrics does not exist (404)', async () => {
    const app = await startTestApp({
      env: { NODE_ENV: 'production', PUBLIC_URL: 'https://shop.example.test', MAIL: 'off' },
    });
    try {
      const res = await call(app, 'GET', '/metrics');
      assert.equal(res.status, 404);
      assert.equal(res.body.code, 'not_found');
    } finally {
      await app.close();
    }
  });

  it('outside production without METRICS_TOKEN it stays open (tests, the benchmark, a laptop)', async () => {
    const app = await startTestApp();
    try {
      const res = await fetch(`${app.baseUrl}/metrics`);
      assert.equal(res.status, 200);
    } finally {
      await app.close();
    }
  });
});
