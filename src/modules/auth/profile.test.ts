import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { connectClient } from '../../../test/realtime/support.ts';
import { createProduct, placeOrder } from '../../../test/shop.ts';
import { PASSWORD, register, uniqueEmail } from './test-helpers.ts';

// docs/api.md § Accounts: PATCH /auth/me, POST /auth/password, DELETE /auth/me, DELETE /admin/users/:id.
describe('the signed-in user’s account', () => {
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

  const login = (email: string, password = PASSWORD) =>
    call(app, 'POST', '/api/v1/auth/login', { body: { email, password } });
  const refresh = (refreshToken: string) => call(app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken } });
  const NEW = 'an orange umbrella at noon';

  it('PATCH /auth/me changes the name; a blank or unknown field is 400 and changes nothing', async () => {
    const ann = await register(app, { email: uniqueEmail('ann') });
    const res = await call(app, 'PATCH', '/api/v1/auth/me', { token: ann.accessToken, body: { name: '  Ann B. ' } });
    assert.equal(res.status, 200);
    assert.equal(res.body.user.name, 'Ann B.');
    for (const body of [{ name: '   ' }, { name: 'x', email: 'y@z.test' }, {}]) {
      const bad = await call(app, 'PATCH', '/api/v1/auth/me', { token: ann.accessToken, body });
      assert.equal(bad.status, 400);
    }
    const me = await call(app, 'GET', '/api/v1/auth/me', { token: ann.accessToken });
    assert.equal(me.body.user.name, 'Ann B.');
    assert.equal((await call(app, 'PATCH', '/api/v1/auth/me', { body: { name: 'x' } })).status, 401);
  });

  it('POST /auth/password: other sessions are signed out, this caller gets a new pair', async () => {
    const bea = await register(app, { email: uniqueEmail('bea') });
    const other = (await login(bea.user.email)).body as { refreshToken: string };
    const res = await call(app, 'POST', '/api/v1/auth/password', {
      token: bea.accessToken,
      body: { currentPassword: PASSWORD, newPassword: NEW },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body).sort(), ['accessToken', 'expiresIn', 'refreshToken', 'user']);
    assert.equal((await refresh(bea.refreshToken)).status, 401);
    assert.equal((await refresh(other.refreshToken)).status, 401);
    assert.equal((await refresh(res.body.refreshToken)).status, 200);
    assert.equal((await login(bea.user.email)).status, 401);
    assert.equal((await login(bea.user.email, NEW)).status, 200);
  });

  it('POST /auth/password refuses a wrong current password and a new one the rule refuses; nothing changes', async () => {
    const cal = await register(app, { email: uniqueEmail('cal') });
    const cases: [unknown, number, string][] = [
      [{ currentPassword: 'not my password at all', newPassword: NEW }, 403, 'wrong_password'],
      [{ currentPassword: PASSWORD, newPassword: 'Password1234!' }, 400, 'validation_failed'],
      [{ currentPassword: PASSWORD, newPassword: 'short' }, 400, 'validation_failed'],
      [{ currentPassword: PASSWORD }, 400, 'validation_failed'],
    ];
    for (const [body, status, code] of cases) {
      const res = await call(app, 'POST', '/api/v1/auth/password', { token: cal.accessToken, body });
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.body.code, code);
    }
    assert.equal((await refresh(cal.refreshToken)).status, 200, 'the session survives');
    assert.equal((await login(cal.user.email)).status, 200, 'the password is unchanged');
  });

  it('wrong passwords are counted like logins: the 11th try is 429 rate_limited', async () => {
    const dan = await register(app, { email: uniqueEmail('dan') });
    const body = { currentPassword: 'not my password at all', newPassword: NEW };
    for (let i = 0; i < 10; i += 1) {
      const res = await call(app, 'POST', '/api/v1/auth/password', { token: dan.accessToken, body });
      assert.equal(res.status, 403);
    }
    const blocked = await call(app, 'POST', '/api/v1/auth/password', {
      token: dan.accessToken,
      body: { currentPassword: PASSWORD, newPassword: NEW },
    });
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.code, 'rate_limited');
  });

  it('DELETE /auth/me erases the person, keeps the orders anonymised, revokes tokens and closes sockets', async () => {
    const eve = await register(app, { email: uniqueEmail('eve'), name: 'Eve Erased' });
    const product = await createProduct(app, admin.token);
    const address = { name: 'Eve Erased', line1: '1 Main St', city: 'Town', postalCode: '12345', country: 'DE' };
    const order = await placeOrder(app, eve.accessToken, {
      items: [{ productId: product.id, quantity: 1 }],
      shippingAddress: address,
    });
    assert.equal(order.status, 201);
    const socket = await connectClient(app.baseUrl, { token: eve.accessToken });
    const closed = new Promise<string>((resolve) => socket.socket.once('disconnect', resolve));

    const wrong = await call(app, 'DELETE', '/api/v1/auth/me', {
      token: eve.accessToken,
      body: { password: 'nope nope nope' },
    });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.code, 'wrong_password');
    assert.equal((await call(app, 'GET', '/api/v1/auth/me', { token: eve.accessToken })).status, 200);

    const res = await call(app, 'DELETE', '/api/v1/auth/me', { token: eve.accessToken, body: { password: PASSWORD } });
    assert.equal(res.status, 204);
    assert.equal(await closed, 'io server disconnect');
    assert.equal((await call(app, 'GET', '/api/v1/auth/me', { token: eve.accessToken })).status, 401);
    assert.equal((await refresh(eve.refreshToken)).status, 401);
    assert.equal((await login(eve.user.email)).status, 401);

    const db = app.database.db;
    const row = await db.selectFrom('users').selectAll().where('id', '=', eve.user.id).executeTakeFirstOrThrow();
    assert.notEqual(row.email, eve.user.email);
    assert.match(row.email, /@deleted\.invalid$/);
    assert.equal(row.name, '');
    assert.ok(row.deleted_at !== null);
    const kept = await db.selectFrom('orders').selectAll().where('user_id', '=', eve.user.id).execute();
    assert.equal(kept.length, 1, 'the order stays, attached to the anonymous row');
    assert.equal(kept[0]!.shipping_address, null);
    const mails = await db.selectFrom('mails').selectAll().where('user_id', '=', eve.user.id).execute();
    assert.ok(mails.length > 0);
    for (const mail of mails) {
      assert.equal(mail.to_address, '');
      assert.ok(!mail.text_body.includes('Eve'));
      assert.notEqual(mail.status, 'pending');
    }
    // The address is free again.
    assert.equal((await register(app, { email: eve.user.email })).user.email, eve.user.email);
    // Twice: the token's account is gone.
    const twice = await call(app, 'DELETE', '/api/v1/auth/me', {
      token: eve.accessToken,
      body: { password: PASSWORD },
    });
    assert.equal(twice.status, 401);
  });

  it('DELETE /admin/users/:id: 204, then 404; an admin cannot delete themselves; the last admin cannot leave', async () => {
    const fay = await register(app, { email: uniqueEmail('fay') });
    const socket = await connectClient(app.baseUrl, { token: fay.accessToken });
    const closed = new Promise<string>((resolve) => socket.socket.once('disconnect', resolve));
    const del = (id: string, token = admin.token) => call(app, 'DELETE', `/api/v1/admin/users/${id}`, { token });
    assert.equal((await del(fay.user.id, fay.accessToken)).status, 403);
    assert.equal((await del(fay.user.id)).status, 204);
    assert.equal(await closed, 'io server disconnect');
    assert.equal((await call(app, 'GET', '/api/v1/auth/me', { token: fay.accessToken })).status, 401);
    assert.equal((await refresh(fay.refreshToken)).status, 401);
    assert.equal((await del(fay.user.id)).status, 404, 'deleting twice');
    assert.equal((await del('usr_00000000000000000000')).status, 404);
    const self = await del(admin.id);
    assert.equal(self.status, 403);

    // An admin with a password (createUser's has none), alone among admins once the helper admin is demoted.
    const boss = await register(app, { email: uniqueEmail('boss') });
    await app.database.db.updateTable('users').set({ role: 'customer' }).where('role', '=', 'admin').execute();
    await app.database.db.updateTable('users').set({ role: 'admin' }).where('id', '=', boss.user.id).execute();
    const last = await call(app, 'DELETE', '/api/v1/auth/me', {
      token: boss.accessToken,
      body: { password: PASSWORD },
    });
    assert.equal(last.status, 403);
    assert.match(last.body.detail, /last admin/);
    await app.database.db.updateTable('users').set({ role: 'admin' }).where('id', '=', admin.id).execute();
  });
});
