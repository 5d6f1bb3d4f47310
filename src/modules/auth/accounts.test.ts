import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { connectClient, connectError } from '../../../test/realtime/support.ts';

// docs/api.md § Accounts: PATCH /api/v1/admin/users/:id { disabled }, and tokens of accounts that are gone.
describe('disabling accounts', () => {
  let app: TestApp;
  let admin: Awaited<ReturnType<typeof createUser>>;
  before(async () => {
    app = await startTestApp({ env: { API_RATE_LIMIT_PER_MINUTE: '0' } });
    admin = await createUser(app, 'admin');
  });
  after(async () => {
    await app.built.realtime.close();
    await app.close();
  });

  const register = async (email: string) => {
    const res = await call(app, 'POST', '/api/v1/auth/register', {
      body: { email, password: 'a quiet lantern by the sea', name: 'Dora' },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { user: { id: string }; accessToken: string; refreshToken: string };
  };
  const setDisabled = (id: string, disabled: unknown, token = admin.token) =>
    call(app, 'PATCH', `/api/v1/admin/users/${id}`, { token, body: { disabled } });
  const login = (email: string, password = 'a quiet lantern by the sea') =>
    call(app, 'POST', '/api/v1/auth/login', { body: { email, password } });

  it('a disabled account: refresh tokens revoked, access token refused at the next request, no login', async () => {
    const dora = await register('dora@example.test');
    const second = (await login('dora@example.test')).body as { refreshToken: string };
    assert.equal((await call(app, 'GET', '/api/v1/auth/me', { token: dora.accessToken })).status, 200);

    const res = await setDisabled(dora.user.id, true);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.user.disabled, true);

    for (const path of ['/api/v1/auth/me', '/api/v1/orders']) {
      const refused = await call(app, 'GET', path, { token: dora.accessToken });
      assert.equal(refused.status, 401, path);
      assert.equal(refused.body.code, 'account_disabled');
    }
    for (const refreshToken of [dora.refreshToken, second.refreshToken]) {
      const refreshed = await call(app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken } });
      assert.equal(refreshed.status, 401);
    }
    const live = await app.database.db
      .selectFrom('refresh_tokens')
      .select('id')
      .where('user_id', '=', dora.user.id)
      .where('revoked_at', 'is', null)
      .execute();
    assert.deepEqual(live, [], 'every refresh token revoked');

    const right = await login('dora@example.test');
    assert.equal(right.status, 401);
    assert.equal(right.body.code, 'account_disabled');
    // Without the password nothing tells a disabled account apart.
    const wrong = await login('dora@example.test', 'not her password at all');
    assert.equal(wrong.body.code, 'invalid_credentials');
  });

  it('enabling it again lets the user sign in; the revoked refresh tokens stay revoked', async () => {
    const eve = await register('eve@example.test');
    assert.equal((await setDisabled(eve.user.id, true)).status, 200);
    const res = await setDisabled(eve.user.id, false);
    assert.equal(res.status, 200);
    assert.equal(res.body.user.disabled, false);
    const again = await login('eve@example.test');
    assert.equal(again.status, 200);
    assert.equal((await call(app, 'GET', '/api/v1/auth/me', { token: again.body.accessToken })).status, 200);
    const old = await call(app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: eve.refreshToken } });
    assert.equal(old.status, 401);
  });

  it("the account's open sockets are disconnected by the server, and a new handshake is refused", async () => {
    const fay = await register('fay@example.test');
    const first = await connectClient(app.baseUrl, { token: fay.accessToken });
    const second = await connectClient(app.baseUrl, { token: fay.accessToken });
    const other = await connectClient(app.baseUrl, { token: admin.token });
    const disconnectOf = (c: typeof first) => new Promise<string>((resolve) => c.socket.once('disconnect', resolve));
    const disconnected = Promise.all([disconnectOf(first), disconnectOf(second)]);
    assert.equal((await setDisabled(fay.user.id, true)).status, 200);
    assert.deepEqual(await disconnected, ['io server disconnect', 'io server disconnect']);
    assert.equal(other.socket.connected, true, "another user's socket stays");
    const refused = await connectError(app.baseUrl, { token: fay.accessToken });
    assert.equal(refused.message, 'unauthorized');
    assert.equal(refused.data?.code, 'account_disabled');
    other.close();
  });

  it('refuses non-admins, an admin disabling themselves, unknown users and malformed bodies; nothing changes', async () => {
    const gus = await register('gus@example.test');
    const support = await createUser(app, 'support');
    for (const token of [gus.accessToken, support.token]) {
      const res = await setDisabled(gus.user.id, true, token);
      assert.equal(res.status, 403);
    }
    const self = await setDisabled(admin.id, true);
    assert.equal(self.status, 403);
    assert.match(self.body.detail, /own account/);
    assert.equal((await setDisabled('usr_00000000000000000000', true)).status, 404);
    for (const body of [
      {},
      { disabled: 'yes' },
      { disabled: null },
      { disabled: 1 },
      { disabled: true, admin: true },
    ]) {
      const res = await call(app, 'PATCH', `/api/v1/admin/users/${gus.user.id}`, { token: admin.token, body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.code, 'validation_failed');
    }
    const rows = await app.database.db
      .selectFrom('users')
      .select(['id', 'disabled_at'])
      .where('id', 'in', [gus.user.id, admin.id])
      .execute();
    assert.ok(rows.every((r) => r.disabled_at === null));
    assert.equal((await call(app, 'GET', '/api/v1/auth/me', { token: gus.accessToken })).status, 200);
  });

  it('a token whose account no longer exists is 401 on every signed-in route and at the socket handshake', async () => {
    const gone = await createUser(app, 'admin');
    await app.database.db.deleteFrom('users').where('id', '=', gone.id).execute();
    for (const route of app.built.registry.routes.filter((r) => r.spec.auth)) {
      const path = route.path.replace(/:[A-Za-z]+/g, 'x_1');
      const res = await call(app, route.method.toUpperCase(), path, {
        token: gone.token,
        headers: { 'idempotency-key': 'gone-1' },
        ...(route.method === 'get' ? {} : { body: {} }),
      });
      assert.equal(res.status, 401, `${route.method} ${route.path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 'unauthorized');
    }
    const refused = await connectError(app.baseUrl, { token: gone.token });
    assert.equal(refused.message, 'unauthorized');
    assert.equal(refused.data?.code, 'unauthorized');
  });
});
