import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestApp, type TestApp } from './helpers.ts';

const register = '/api/v1/auth/register';

function assertProblem(res: { status: number; headers: Headers; body: any }, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(res.body.code, code);
  assert.equal(res.body.status, status);
  const text = JSON.stringify(res.body);
  assert.doesNotMatch(text, /at .*\.ts:\d+|SELECT|INSERT|node_modules|SyntaxError/i, 'no stack, SQL or library text');
}

describe('hostile input is refused with problem+json and changes nothing', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.close());

  const countUsers = async () =>
    Number(
      (
        await app.database.db
          .selectFrom('users')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('malformed JSON → 400 validation_failed', async () => {
    const res = await call(app, 'POST', register, {
      rawBody: '{"email": "a@b.example", "password": ',
      headers: { 'content-type': 'application/json' },
    });
    assertProblem(res, 400, 'validation_failed');
  });

  it('a body over 100 kB → 413 payload_too_large', async () => {
    const res = await call(app, 'POST', register, {
      body: { email: 'big@example.test', password: 'x'.repeat(20), name: 'n'.repeat(120_000) },
    });
    assertProblem(res, 413, 'payload_too_large');
  });

  it('a body that is not JSON → 415 unsupported_media_type', async () => {
    const res = await call(app, 'POST', register, {
      rawBody: 'email=a@b.example&password=123456789012&name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assertProblem(res, 415, 'unsupported_media_type');
  });

  it('wrong types and unknown keys → 400 listing every problem', async () => {
    const before = await countUsers();
    const res = await call(app, 'POST', register, {
      body: { email: 42, password: 'long-enough-password', name: 'Eve', role: 'admin', isAdmin: true },
    });
    assertProblem(res, 400, 'validation_failed');
    const paths = (res.body.errors as { path: string }[]).map((e) => e.path).sort();
    assert.deepEqual(paths, ['body.email', 'body.isAdmin', 'body.role']);
    assert.equal(await countUsers(), before);
  });

  it('a repeated query parameter → 400 validation_failed', async () => {
    const res = await call(app, 'GET', '/healthz?probe=1&probe=2');
    assertProblem(res, 400, 'validation_failed');
    assert.deepEqual(res.body.errors, [{ path: 'query.probe', message: 'must be given once' }]);
  });

  it('a JSON array or scalar where an object is expected → 400', async () => {
    assertProblem(await call(app, 'POST', register, { body: [1, 2, 3] }), 400, 'validation_failed');
    assertProblem(
      await call(app, 'POST', register, {
        rawBody: '"just a string"',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'validation_failed',
    );
  });

  it('a body on a route that takes none → 400, even an empty array; none or {} is accepted', async () => {
    const user = await createUser(app);
    const resend = '/api/v1/auth/verify-email/resend';
    for (const body of [[], [1], { extra: true }]) {
      assertProblem(await call(app, 'POST', resend, { token: user.token, body }), 400, 'validation_failed');
    }
    const mails = async () =>
      (await app.database.db.selectFrom('account_tokens').select('user_id').where('user_id', '=', user.id).execute())
        .length;
    assert.equal(await mails(), 0, 'nothing was sent for a refused request');
    assert.equal((await call(app, 'POST', resend, { token: user.token, body: {} })).status, 202);
    assert.equal((await call(app, 'POST', resend, { token: user.token })).status, 202);
  });

  it('prototype pollution keys are refused and do not pollute', async () => {
    const res = await call(app, 'POST', register, {
      rawBody: '{"email":"p@example.test","password":"long-enough-password","name":"P","__proto__":{"polluted":true}}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 400);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  // The three 500s of issue 12, and the rest of their class.
  it('a NUL character in any JSON string or key → 400 naming the field, nothing stored', async () => {
    const before = await countUsers();
    const res = await call(app, 'POST', register, {
      rawBody: '{"email":"nul@example.test","password":"long enough password","name":"a\\u0000b"}',
      headers: { 'content-type': 'application/json' },
    });
    assertProblem(res, 400, 'validation_failed');
    assert.deepEqual(res.body.errors, [{ path: 'body.name', message: 'must not contain the NUL character (U+0000)' }]);
    const key = await call(app, 'POST', register, {
      rawBody: '{"email":"nul@example.test","password":"long enough password","name":"n","x\\u0000":1}',
      headers: { 'content-type': 'application/json' },
    });
    assertProblem(key, 400, 'validation_failed');
    assert.equal(await countUsers(), before);
  });

  it('a lone surrogate in a JSON string → 400 instead of being stored mangled', async () => {
    const before = await countUsers();
    const res = await call(app, 'POST', register, {
      rawBody: '{"email":"sur@example.test","password":"long enough password","name":"a\\ud800b"}',
      headers: { 'content-type': 'application/json' },
    });
    assertProblem(res, 400, 'validation_failed');
    assert.equal(res.body.errors[0].path, 'body.name');
    assert.equal(await countUsers(), before);
  });

  it('NUL in a path segment or a query value → 400, never reaches the database', async () => {
    const { token } = await createUser(app, 'admin');
    const inPath = await call(app, 'GET', '/api/v1/orders/ord_%00x', { token });
    assertProblem(inPath, 400, 'validation_failed');
    assert.equal(inPath.body.errors[0].path, 'params.id');
    const inQuery = await call(app, 'GET', '/api/v1/orders?userId=usr_%00', { token });
    assertProblem(inQuery, 400, 'validation_failed');
    assert.equal(inQuery.body.errors[0].path, 'query.userId');
  });

  it('a forged cursor with a date PostgreSQL cannot hold, or a NUL in its id → 400, on every list', async () => {
    const { token } = await createUser(app, 'admin');
    const cursor = (pair: unknown) => Buffer.from(JSON.stringify(pair)).toString('base64url');
    const forged = [
      cursor(['-271821-04-20T00:00:00.000Z', 'ord_x']),
      cursor(['+275760-09-13T00:00:00.000Z', 'ord_x']),
      cursor(['+010000-01-01T00:00:00.000Z', 'ord_x']),
      cursor(['0000-01-01T00:00:00.000Z', 'ord_x']),
      cursor(['2024-01-01T00:00:00.000Z', 'ord_\u0000']),
    ];
    const lists = ['/api/v1/orders', '/api/v1/products', '/api/v1/admin/products', '/api/v1/admin/payments'];
    for (const path of [...lists, '/api/v1/admin/webhook-events']) {
      for (const c of forged) {
        const res = await call(app, 'GET', `${path}?cursor=${c}`, { token });
        assertProblem(res, 400, 'validation_failed');
        assert.deepEqual(res.body.errors, [{ path: 'query.cursor', message: 'is not a cursor this API returned' }]);
      }
    }
  });

  it('a malformed percent-escape in a path segment → 400 validation_failed', async () => {
    const { token } = await createUser(app);
    for (const path of [
      '/api/v1/orders/%E0%A4%A',
      '/api/v1/orders/%',
      '/api/v1/products/%zz',
      '/api/v1/orders/%C0%AF',
    ]) {
      const res = await call(app, 'GET', path, { token });
      assertProblem(res, 400, 'validation_failed');
    }
  });

  it('JSON nested thousands of levels deep on an idempotent route → 400, the key stays free', async () => {
    const { token } = await createUser(app);
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'deep-1' };
    const res = await call(app, 'POST', '/api/v1/orders', { rawBody: `{"items":${deep}}`, token, headers });
    assertProblem(res, 400, 'validation_failed');
    assert.match(res.body.errors[0].message, /nested too deeply/);
    const keys = await app.database.db.selectFrom('idempotency_keys').select('key').execute();
    assert.deepEqual(keys, []);
  });

  it('a Content-Encoding that lies about the body → 400, an unknown one → 415', async () => {
    const lie = await call(app, 'POST', '/api/v1/auth/login', {
      rawBody: '{"email":"a@b.example","password":"x"}',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    assertProblem(lie, 400, 'validation_failed');
    const unknown = await call(app, 'POST', '/api/v1/auth/login', {
      rawBody: '{}',
      headers: { 'content-type': 'application/json', 'content-encoding': 'zstd-ish' },
    });
    assertProblem(unknown, 415, 'unsupported_media_type');
    const honest = await fetch(`${app.baseUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync('{"email":"a@b.example","password":"wrong password"}'),
    });
    assert.equal(honest.status, 401);
  });

  it('a request Node cannot parse (a Content-Length shorter than the body) → a problem document, not bare text', async () => {
    const { port } = new URL(app.baseUrl);
    const body = '{"email":"a@b.example","password":"x"}GARBAGE / HTTP/1.1\r\nbad header\r\n\r\n';
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1');
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('latin1')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write(
        `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 38\r\n\r\n${body}`,
      );
    });
    // Node parses the pipelined rest while the first request still runs: the connection ends with the 400.
    const last = raw.split(/(?=HTTP\/1\.1 )/).pop()!;
    assert.match(last, /^HTTP\/1\.1 400 /);
    assert.match(last, /content-type: application\/problem\+json/i);
    assert.equal(JSON.parse(last.split('\r\n\r\n')[1]!).code, 'malformed_request');
  });

  it('a bearer header that is not a token → 401 unauthorized', async () => {
    const res = await call(app, 'GET', '/api/v1/auth/me', { headers: { authorization: 'Basic YTpi' } });
    assertProblem(res, 401, 'unauthorized');
  });
});
