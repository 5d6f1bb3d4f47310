import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { pino } from 'pino';
import { call, createTestDatabase, testConfig, type TestDatabase } from '../../test/helpers.ts';
import { buildApp, type BuiltApp } from '../app.ts';
import { createTokenService } from '../modules/auth/index.ts';
import { systemClock } from '../shared/clock.ts';

type LogLine = Record<string, unknown> & { level: number; msg: string };

/** The app over real HTTP with its log captured, one parsed line per entry. */
describe('errors, access log and CORS over HTTP', () => {
  const allowed = 'https://shop.example';
  const logs: LogLine[] = [];
  let test: TestDatabase;
  let built: BuiltApp;
  let app: { baseUrl: string };

  before(async () => {
    test = await createTestDatabase();
    const config = testConfig({ CORS_ORIGINS: `${allowed},https://admin.shop.example`, LOG_LEVEL: 'info' });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as LogLine);
        done();
      },
    });
    built = buildApp({
      config,
      database: test.database,
      logger: pino({ level: 'info' }, sink),
      clock: systemClock,
      tokens: createTokenService(config.JWT_SECRET!, systemClock),
    });
    built.server.listen(0, '127.0.0.1');
    await once(built.server, 'listening');
    app = { baseUrl: `http://127.0.0.1:${(built.server.address() as AddressInfo).port}` };
  });
  after(async () => {
    await built.payments.stop();
    built.server.closeAllConnections();
    await new Promise<void>((resolve) => built.server.close(() => resolve()));
    await test.drop();
  });

  /** Waits for the log line the response's finish event writes. */
  async function logOf(reqId: string, msg: string): Promise<LogLine> {
    for (let i = 0; i < 100; i++) {
      const line = logs.find((l) => l.reqId === reqId && l.msg === msg);
      if (line !== undefined) return line;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.fail(`no "${msg}" log line for ${reqId}`);
  }

  it('logs each request with its full URL, not the path inside the module router', async () => {
    const res = await call(app, 'GET', '/api/v1/products?limit=5', { headers: { 'x-request-id': 'access-log-1' } });
    assert.equal(res.status, 200);
    const line = await logOf('access-log-1', 'request');
    assert.equal(line.url, '/api/v1/products?limit=5');
    assert.equal(line.method, 'GET');
    assert.equal(line.status, 200);
  });

  it('a non-JSON body to an unknown route is 404; to a known route it stays 415', async () => {
    const text = { rawBody: 'hello', headers: { 'content-type': 'text/plain' } };
    const unknown = await call(app, 'POST', '/api/v1/nothing-here', text);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'not_found');
    const known = await call(app, 'POST', '/api/v1/auth/login', text);
    assert.equal(known.status, 415);
    assert.equal(known.body.code, 'unsupported_media_type');
  });

  describe('CORS', () => {
    it('a preflight from an allowed origin is answered with that origin and the API headers', async () => {
      const res = await fetch(`${app.baseUrl}/api/v1/orders`, {
        method: 'OPTIONS',
        headers: {
          origin: allowed,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,idempotency-key',
        },
      });
      assert.equal(res.status, 204);
      assert.equal(res.headers.get('access-control-allow-origin'), allowed);
      assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
      assert.match(res.headers.get('access-control-allow-headers') ?? '', /Idempotency-Key/i);
      assert.equal(res.headers.get('access-control-max-age'), '600');
    });

    it('a simple request from an allowed origin gets Access-Control-Allow-Origin and the exposed headers', async () => {
      const res = await fetch(`${app.baseUrl}/api/v1/products`, { headers: { origin: allowed } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), allowed);
      assert.match(res.headers.get('access-control-expose-headers') ?? '', /X-Request-Id/);
      assert.match(res.headers.get('vary') ?? '', /Origin/);
    });

    it('an OPTIONS request without Origin is still answered as a preflight', async () => {
      const res = await fetch(`${app.baseUrl}/api/v1/orders`, {
        method: 'OPTIONS',
        headers: { 'access-control-request-method': 'POST' },
      });
      assert.equal(res.status, 204);
      assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
      assert.equal(res.headers.get('access-control-max-age'), '600');
    });

    it('an API request without Origin gets Vary: Origin and no other CORS header; a page keeps its headers', async () => {
      const api = await fetch(`${app.baseUrl}/api/v1/products`);
      assert.equal(api.status, 200);
      assert.equal(api.headers.get('vary'), 'Origin');
      const cors = [...api.headers.keys()].filter((name) => name.startsWith('access-control-'));
      assert.deepEqual(cors, []);
      await api.arrayBuffer();
      const page = await fetch(`${app.baseUrl}/`);
      assert.match(page.headers.get('access-control-expose-headers') ?? '', /X-Request-Id/);
      await page.arrayBuffer();
    });

    it('an origin not on the list gets no Access-Control-Allow-Origin, on the preflight or the request', async () => {
      for (const origin of ['https://evil.example', 'https://shop.example.evil.example', 'null']) {
        const preflight = await fetch(`${app.baseUrl}/api/v1/orders`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST' },
        });
        assert.equal(preflight.headers.get('access-control-allow-origin'), null, origin);
        const simple = await fetch(`${app.baseUrl}/api/v1/products`, { headers: { origin } });
        assert.equal(simple.headers.get('access-control-allow-origin'), null, origin);
      }
    });
  });

  // Last: it breaks the products table on purpose.
  it('an unknown error is a 500 internal_error without its text, logged with stack and request id', async () => {
    await sql`drop table products cascade`.execute(test.database.db);
    // The list read by the CORS test above is still in the catalog cache (docs/api.md § Caching): drop it.
    await built.catalogCache.invalidate([]);
    const res = await call(app, 'GET', '/api/v1/products', { headers: { 'x-request-id': 'boom-1' } });
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(res.headers.get('x-request-id'), 'boom-1');
    assert.deepEqual(Object.keys(res.body as object).sort(), ['code', 'detail', 'instance', 'status', 'title', 'type']);
    assert.equal(res.body.code, 'internal_error');
    assert.equal(res.body.status, 500);
    assert.equal(res.body.instance, '/api/v1/products');
    const text = JSON.stringify(res.body);
    for (const leak of [/products" does not exist/i, /relation/i, /select/i, /\bat .*\.ts:\d+/, /Error:/]) {
      assert.doesNotMatch(text, leak);
    }
    const line = await logOf('boom-1', 'unhandled error');
    assert.equal(line.level, 50);
    const err = line.err as { message: string; stack: string };
    assert.match(err.message, /products" does not exist/);
    assert.match(err.stack, /\n\s+at /);
  });
});
