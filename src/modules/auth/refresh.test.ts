import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { manualClock } from '../../shared/clock.ts';
import { PASSWORD, claimsOf, register } from './test-helpers.ts';

const REFRESH = '/api/v1/auth/refresh';
const LOGOUT = '/api/v1/auth/logout';
const LOGIN = '/api/v1/auth/login';

const refresh = (app: TestApp, refreshToken: string) => call(app, 'POST', REFRESH, { body: { refreshToken } });

function assertProblem(res: { status: number; body: any }, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.code, code);
}

describe('auth: refresh', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.close());

  it('exchanges a refresh token for a new pair', async () => {
    const session = await register(app);
    const res = await refresh(app, session.refreshToken);
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), ['accessToken', 'expiresIn', 'refreshToken', 'user']);
    assert.deepEqual(res.body.user, session.user);
    assert.notEqual(res.body.refreshToken, session.refreshToken);
    assert.equal(claimsOf(res.body.accessToken).sub, session.user.id);
    assert.equal((await call(app, 'GET', '/api/v1/auth/me', { token: res.body.accessToken })).status, 200);
    // and the new one rotates in turn
    assert.equal((await refresh(app, res.body.refreshToken)).status, 200);
  });

  it('a spent token presented again: 401 refresh_token_reused, and the whole family is revoked', async () => {
    const session = await register(app);
    const second = await refresh(app, session.refreshToken);
    assert.equal(second.status, 200);
    const third = await refresh(app, second.body.refreshToken);
    assert.equal(third.status, 200);

    assertProblem(await refresh(app, session.refreshToken), 401, 'refresh_token_reused');
    // The newest token of the family, never used, stops working too.
    assertProblem(await refresh(app, third.body.refreshToken), 401, 'unauthorized');
    const rows = await app.database.db
      .selectFrom('refresh_tokens')
      .select(['revoked_at'])
      .where('user_id', '=', session.user.id)
      .execute();
    assert.equal(rows.length, 3);
    assert.ok(rows.every((r) => r.revoked_at !== null));
  });

  it('reuse revokes only that family: another session of the same user keeps working', async () => {
    const session = await register(app);
    const other = await call(app, 'POST', LOGIN, { body: { email: session.user.email, password: PASSWORD } });
    assert.equal((await refresh(app, session.refreshToken)).status, 200);
    assertProblem(await refresh(app, session.refreshToken), 401, 'refresh_token_reused');
    assert.equal((await refresh(app, other.body.refreshToken)).status, 200);
  });

  it('when the same token is refreshed concurrently, exactly one refresh succeeds', async () => {
    const session = await register(app);
    const results = await Promise.all(Array.from({ length: 5 }, () => refresh(app, session.refreshToken)));
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, JSON.stringify(results.map((r) => [r.status, r.body.code])));
    for (const r of results.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 401);
      assert.ok(['refresh_token_reused', 'unauthorized'].includes(r.body.code), r.body.code);
    }
    const spent = await app.database.db
      .selectFrom('refresh_tokens')
      .select('id')
      .where('user_id', '=', session.user.id)
      .execute();
    assert.equal(spent.length, 2, 'one rotation, one new token');
  });

  it('refuses an unknown token with 401 unauthorized', async () => {
    assertProblem(await refresh(app, 'no-such-token-at-all'), 401, 'unauthorized');
  });

  it('refuses a missing, empty or mistyped token, and unknown keys', async () => {
    assertProblem(await call(app, 'POST', REFRESH, { body: {} }), 400, 'validation_failed');
    assertProblem(await refresh(app, ''), 400, 'validation_failed');
    const typed = await call(app, 'POST', REFRESH, { body: { refreshToken: 12 } });
    assert.deepEqual(
      typed.body.errors.map((e: { path: string }) => e.path),
      ['body.refreshToken'],
    );
    const extra = await call(app, 'POST', REFRESH, { body: { refreshToken: 'x', userId: 'usr_1' } });
    assert.deepEqual(extra.body.errors, [{ path: 'body.userId', message: 'unknown field' }]);
  });

  it('gives the current role: a promotion shows in the next access token', async () => {
    const session = await register(app);
    await app.database.db.updateTable('users').set({ role: 'support' }).where('id', '=', session.user.id).execute();
    const res = await refresh(app, session.refreshToken);
    assert.equal(res.body.user.role, 'support');
    assert.equal(claimsOf(res.body.accessToken).role, 'support');
  });
});

describe('auth: refresh token expiry', () => {
  const clock = manualClock(new Date('2026-05-01T00:00:00Z'));
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ clock });
  });
  after(() => app.close());

  it('a refresh token lasts 30 days', async () => {
    const early = await register(app);
    const late = await register(app);
    clock.advance(30 * 24 * 3600 * 1000 - 60_000);
    assert.equal((await refresh(app, early.refreshToken)).status, 200);
    clock.advance(120_000);
    assertProblem(await refresh(app, late.refreshToken), 401, 'unauthorized');
  });
});

describe('auth: logout', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.close());

  it('answers 204 and revokes the token: refreshing it afterwards is 401 unauthorized', async () => {
    const session = await register(app);
    const res = await call(app, 'POST', LOGOUT, { body: { refreshToken: session.refreshToken } });
    assert.equal(res.status, 204);
    assert.equal(res.body, undefined);
    assertProblem(await refresh(app, session.refreshToken), 401, 'unauthorized');
  });

  it('revokes the whole family: logging out with the current token kills its rotation chain', async () => {
    const session = await register(app);
    const rotated = await refresh(app, session.refreshToken);
    assert.equal((await call(app, 'POST', LOGOUT, { body: { refreshToken: rotated.body.refreshToken } })).status, 204);
    assertProblem(await refresh(app, rotated.body.refreshToken), 401, 'unauthorized');
  });

  it('leaves the user’s other sessions alone', async () => {
    const session = await register(app);
    const other = await call(app, 'POST', LOGIN, { body: { email: session.user.email, password: PASSWORD } });
    await call(app, 'POST', LOGOUT, { body: { refreshToken: session.refreshToken } });
    assert.equal((await refresh(app, other.body.refreshToken)).status, 200);
  });

  it('answers 204 for an unknown or already revoked token too: logout reveals nothing', async () => {
    assert.equal((await call(app, 'POST', LOGOUT, { body: { refreshToken: 'never-issued' } })).status, 204);
    const session = await register(app);
    await call(app, 'POST', LOGOUT, { body: { refreshToken: session.refreshToken } });
    assert.equal((await call(app, 'POST', LOGOUT, { body: { refreshToken: session.refreshToken } })).status, 204);
  });

  it('refuses a body without a token', async () => {
    assertProblem(await call(app, 'POST', LOGOUT, { body: {} }), 400, 'validation_failed');
    assertProblem(await call(app, 'POST', LOGOUT), 400, 'validation_failed');
  });
});
