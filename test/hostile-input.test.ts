import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, startTestApp, type TestApp } from './helpers.ts';

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

  it('prototype pollution keys are refused and do not pollute', async () => {
    const res = await call(app, 'POST', register, {
      rawBody: '{"email":"p@example.test","password":"long-enough-password","name":"P","__proto__":{"polluted":true}}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 400);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('a bearer header that is not a token → 401 unauthorized', async () => {
    const res = await call(app, 'GET', '/api/v1/auth/me', { headers: { authorization: 'Basic YTpi' } });
    assertProblem(res, 401, 'unauthorized');
  });
});
