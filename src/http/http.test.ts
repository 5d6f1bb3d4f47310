import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, startTestApp, type TestApp } from '../../test/helpers.ts';

describe('http foundation', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.close());

  it('answers /healthz and /readyz', async () => {
    assert.deepEqual((await call(app, 'GET', '/healthz')).body, { status: 'ok' });
    const ready = await call(app, 'GET', '/readyz');
    assert.equal(ready.status, 200);
  });

  it('echoes a sane X-Request-Id and replaces an insane one', async () => {
    const echoed = await call(app, 'GET', '/healthz', { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(echoed.headers.get('x-request-id'), 'abc-123');
    const replaced = await call(app, 'GET', '/healthz', { headers: { 'x-request-id': 'bad id <script>' } });
    assert.notEqual(replaced.headers.get('x-request-id'), 'bad id <script>');
    assert.match(replaced.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes with a problem document and no X-Powered-By', async () => {
    const res = await call(app, 'GET', '/api/v1/nothing-here');
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(res.body.code, 'not_found');
    assert.equal(res.body.status, 404);
    assert.equal(res.body.instance, '/api/v1/nothing-here');
    assert.equal(res.headers.get('x-powered-by'), null);
    assert.ok(res.headers.get('x-content-type-options'), 'helmet headers are set');
  });

  it('serves Prometheus metrics with the HTTP histogram', async () => {
    const res = await fetch(`${app.baseUrl}/metrics`);
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.match(text, /http_request_duration_seconds_bucket\{/);
  });

  it('reports 503 from /readyz once shutdown has begun', async () => {
    const other = await startTestApp();
    try {
      other.built.beginShutdown();
      assert.equal((await call(other, 'GET', '/readyz')).status, 503);
    } finally {
      await other.close();
    }
  });
});
