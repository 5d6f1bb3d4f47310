import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { call, startTestApp, type JsonResponse, type TestApp } from '../../../test/helpers.ts';
import { manualClock } from '../../shared/clock.ts';
import { claimsOf, PASSWORD, register, uniqueEmail } from './test-helpers.ts';
import { issueSetupToken, SETUP_TOKEN_KEY, SETUP_TOKEN_TTL_MS } from './setup.service.ts';

const SETUP = '/api/v1/setup';

function assertProblem(res: JsonResponse, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  assert.equal(res.body.code, code);
}

describe('first admin setup: GET/POST /api/v1/setup', () => {
  let app: TestApp;
  const clock = manualClock(new Date('2026-03-01T09:00:00Z'));

  before(async () => {
    app = await startTestApp({ clock });
  });
  after(() => app.close());

  /** Each test starts as a fresh install would: no admin (earlier ones demoted), no token. */
  beforeEach(async () => {
    await app.database.db.updateTable('users').set({ role: 'customer' }).where('role', '=', 'admin').execute();
    await app.database.db.deleteFrom('job_state').where('key', '=', SETUP_TOKEN_KEY).execute();
  });

  const issue = async (): Promise<string> => {
    const issued = await issueSetupToken(app.database.db, clock);
    assert.ok(issued !== undefined, 'no admin exists, so a token is issued');
    return issued.token;
  };
  const body = (token: string, email = uniqueEmail('admin')) => ({
    token,
    email,
    password: PASSWORD,
    name: 'Ada Admin',
  });
  const post = (value: unknown) => call(app, 'POST', SETUP, { body: value });
  const admins = async () =>
    (await app.database.db.selectFrom('users').select('id').where('role', '=', 'admin').execute()).length;
  const users = async () => (await app.database.db.selectFrom('users').select('id').execute()).length;

  it('says setup is needed while no admin exists, and not once one does', async () => {
    assert.deepEqual((await call(app, 'GET', SETUP)).body, { needed: true });
    const token = await issue();
    assert.equal((await post(body(token))).status, 201);
    const after = await call(app, 'GET', SETUP);
    assert.equal(after.status, 200);
    assert.deepEqual(after.body, { needed: false });
  });

  it('creates the first admin with the token and signs it in (201, as register answers)', async () => {
    const token = await issue();
    const email = uniqueEmail('first');
    const res = await post({ token, email: `  ${email.toUpperCase()} `, password: PASSWORD, name: ' Ada Admin ' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body).sort(), ['accessToken', 'expiresIn', 'refreshToken', 'user']);
    assert.equal(res.body.user.role, 'admin');
    assert.equal(res.body.user.email, email);
    assert.equal(res.body.user.name, 'Ada Admin');
    assert.equal(res.body.expiresIn, 900);
    assert.equal(claimsOf(res.body.accessToken).role, 'admin');
    const me = await call(app, 'GET', '/api/v1/auth/me', { token: res.body.accessToken });
    assert.deepEqual(me.body, { user: res.body.user });
    // An admin indeed: it may hand out roles, and log in with its password later.
    const customer = await register(app);
    const promoted = await call(app, 'PATCH', `/api/v1/admin/users/${customer.user.id}`, {
      token: res.body.accessToken,
      body: { role: 'support' },
    });
    assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
    const login = await call(app, 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
    assert.equal(login.status, 200);
    const refreshed = await call(app, 'POST', '/api/v1/auth/refresh', {
      body: { refreshToken: res.body.refreshToken },
    });
    assert.equal(refreshed.status, 200);
    assert.equal(await admins(), 1);
  });

  it('keeps only a hash of the token, and spends it with the setup', async () => {
    const token = await issue();
    const row = await app.database.db
      .selectFrom('job_state')
      .select('value')
      .where('key', '=', SETUP_TOKEN_KEY)
      .executeTakeFirstOrThrow();
    assert.ok(!JSON.stringify(row.value).includes(token));
    assert.match((row.value as { hash: string }).hash, /^[0-9a-f]{64}$/);
    assert.equal((await post(body(token))).status, 201);
    const left = await app.database.db.selectFrom('job_state').where('key', '=', SETUP_TOKEN_KEY).selectAll().execute();
    assert.deepEqual(left, []);
  });

  it('refuses a wrong token with 403 forbidden and creates nothing; the right one still works after', async () => {
    const token = await issue();
    const before = await users();
    for (const wrong of ['nope', `${token}x`, token.slice(0, -1), token.toUpperCase()]) {
      const res = await post(body(wrong));
      assertProblem(res, 403, 'forbidden');
      assert.match(res.body.detail, /not valid/);
    }
    assert.equal(await users(), before);
    assert.equal(await admins(), 0);
    assert.equal((await post(body(token))).status, 201);
  });

  it('refuses an expired token (after 1 hour) with 403 and creates nothing', async () => {
    const token = await issue();
    const before = await users();
    clock.advance(SETUP_TOKEN_TTL_MS - 1);
    const stillValid = await call(app, 'GET', SETUP);
    assert.deepEqual(stillValid.body, { needed: true });
    clock.advance(1);
    assertProblem(await post(body(token)), 403, 'forbidden');
    clock.advance(24 * 3600 * 1000);
    assertProblem(await post(body(token)), 403, 'forbidden');
    assert.equal(await users(), before);
    assert.equal(await admins(), 0);
  });

  it('refuses a used token with 403, even when no admin exists any more', async () => {
    const token = await issue();
    assert.equal((await post(body(token))).status, 201);
    // The admin is demoted (by another admin or by hand): setup is needed again, but the token is spent.
    await app.database.db.updateTable('users').set({ role: 'customer' }).where('role', '=', 'admin').execute();
    assert.deepEqual((await call(app, 'GET', SETUP)).body, { needed: true });
    const before = await users();
    assertProblem(await post(body(token)), 403, 'forbidden');
    assert.equal(await users(), before);
  });

  it('answers 409 setup_done to any call once an admin exists, whatever the token, and creates nothing', async () => {
    const token = await issue();
    assert.equal((await post(body(token))).status, 201);
    const fresh = await issueSetupToken(app.database.db, clock);
    assert.equal(fresh, undefined, 'no token is issued while an admin exists');
    const before = await users();
    for (const value of [body(token), body('wrong'), body(token, uniqueEmail('second'))]) {
      const res = await post(value);
      assertProblem(res, 409, 'setup_done');
      assert.match(res.body.detail, /log in/);
    }
    assert.equal(await users(), before);
    assert.equal(await admins(), 1);
  });

  it('replaces the token at each start while no admin exists: the old one stops working', async () => {
    const first = await issue();
    const second = await issue();
    assert.notEqual(first, second);
    assertProblem(await post(body(first)), 403, 'forbidden');
    assert.equal((await post(body(second))).status, 201);
  });

  it('creates exactly one admin from concurrent requests with the valid token', async () => {
    const token = await issue();
    const answers = await Promise.all(Array.from({ length: 6 }, () => post(body(token))));
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(
      statuses.filter((s) => s === 201),
      [201],
      JSON.stringify(answers.map((a) => a.body)),
    );
    for (const loser of answers.filter((a) => a.status !== 201)) {
      assert.ok(['setup_done', 'forbidden'].includes(loser.body.code), JSON.stringify(loser.body));
    }
    assert.equal(await admins(), 1);
  });

  it('refuses a bad body with 400 validation_failed naming each field, creates nothing and keeps the token', async () => {
    const token = await issue();
    const before = await users();
    const cases: [unknown, string][] = [
      [{ ...body(token), password: 'short' }, 'body.password'],
      [{ ...body(token), email: 'not-an-email' }, 'body.email'],
      [{ ...body(token), name: '   ' }, 'body.name'],
      [{ email: uniqueEmail('x'), password: PASSWORD, name: 'X' }, 'body.token'],
      [{ ...body(token), token: '' }, 'body.token'],
      [{ ...body(token), role: 'admin' }, 'body.role'],
    ];
    for (const [value, path] of cases) {
      const res = await post(value);
      assertProblem(res, 400, 'validation_failed');
      assert.ok(
        res.body.errors.some((e: { path: string }) => e.path === path),
        `${path} in ${JSON.stringify(res.body.errors)}`,
      );
    }
    const notJson = await call(app, 'POST', SETUP, { rawBody: 'token=x', headers: { 'content-type': 'text/plain' } });
    assertProblem(notJson, 415, 'unsupported_media_type');
    assert.equal(await users(), before);
    assert.equal((await post(body(token))).status, 201, 'the token survived the bad requests');
  });

  it('refuses an e-mail that has an account already with 409 email_taken; the token stays usable', async () => {
    const customer = await register(app);
    const token = await issue();
    const before = await users();
    const res = await post(body(token, customer.user.email));
    assertProblem(res, 409, 'email_taken');
    assert.equal(await users(), before);
    assert.equal(await admins(), 0);
    assert.equal((await post(body(token))).status, 201);
  });

  it('issues no token and removes a stale one when an admin exists', async () => {
    await issue();
    await register(app).then((s) =>
      app.database.db.updateTable('users').set({ role: 'admin' }).where('id', '=', s.user.id).execute(),
    );
    assert.equal(await issueSetupToken(app.database.db, clock), undefined);
    const left = await app.database.db.selectFrom('job_state').where('key', '=', SETUP_TOKEN_KEY).selectAll().execute();
    assert.deepEqual(left, []);
  });

  it('is documented in /openapi.json', async () => {
    const doc = (await call(app, 'GET', '/openapi.json')).body;
    assert.ok(doc.paths['/api/v1/setup'].get);
    const postOp = doc.paths['/api/v1/setup'].post;
    assert.ok(postOp.responses['201']);
    assert.ok(postOp.responses['403']);
    assert.ok(postOp.responses['409']);
    assert.deepEqual(postOp.requestBody.content['application/json'].schema.required.sort(), [
      'email',
      'name',
      'password',
      'token',
    ]);
  });
});
