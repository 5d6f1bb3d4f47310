import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { ensureAdmin } from './index.ts';
import { PASSWORD, register, uniqueEmail } from './test-helpers.ts';

const usersPath = (id: string) => `/api/v1/admin/users/${encodeURIComponent(id)}`;

function assertProblem(res: { status: number; body: any }, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.code, code);
}

describe('admin: change a user’s role', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.close());

  it('an admin changes a customer to support and back; the answer is the mapped user', async () => {
    const admin = await createUser(app, 'admin');
    const { user } = await register(app);
    const res = await call(app, 'PATCH', usersPath(user.id), { token: admin.token, body: { role: 'support' } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { user: { ...user, role: 'support' } });
    const me = await call(app, 'POST', '/api/v1/auth/login', { body: { email: user.email, password: PASSWORD } });
    assert.equal(me.body.user.role, 'support');
    const back = await call(app, 'PATCH', usersPath(user.id), { token: admin.token, body: { role: 'customer' } });
    assert.equal(back.body.user.role, 'customer');
  });

  it('an admin may make another admin', async () => {
    const admin = await createUser(app, 'admin');
    const { user } = await register(app);
    const res = await call(app, 'PATCH', usersPath(user.id), { token: admin.token, body: { role: 'admin' } });
    assert.equal(res.body.user.role, 'admin');
  });

  for (const role of ['customer', 'support'] as const) {
    it(`a ${role} gets 403 forbidden, even for their own account, and nothing changes`, async () => {
      const caller = await createUser(app, role);
      const { user } = await register(app);
      for (const target of [user.id, caller.id]) {
        const res = await call(app, 'PATCH', usersPath(target), { token: caller.token, body: { role: 'admin' } });
        assertProblem(res, 403, 'forbidden');
      }
      const row = await app.database.db
        .selectFrom('users')
        .select('role')
        .where('id', '=', caller.id)
        .executeTakeFirst();
      assert.equal(row?.role, role);
    });
  }

  it('a caller without a token gets 401 unauthorized', async () => {
    const { user } = await register(app);
    assertProblem(await call(app, 'PATCH', usersPath(user.id), { body: { role: 'admin' } }), 401, 'unauthorized');
  });

  it('an unknown user id is 404 not_found (for an admin), 403 for others', async () => {
    const admin = await createUser(app, 'admin');
    const customer = await createUser(app, 'customer');
    const missing = usersPath('usr_doesnotexist');
    assertProblem(
      await call(app, 'PATCH', missing, { token: admin.token, body: { role: 'support' } }),
      404,
      'not_found',
    );
    assertProblem(
      await call(app, 'PATCH', missing, { token: customer.token, body: { role: 'support' } }),
      403,
      'forbidden',
    );
  });

  it('refuses an unknown role, a missing role and unknown keys with 400 validation_failed', async () => {
    const admin = await createUser(app, 'admin');
    const { user } = await register(app);
    const bad = await call(app, 'PATCH', usersPath(user.id), { token: admin.token, body: { role: 'owner' } });
    assertProblem(bad, 400, 'validation_failed');
    assert.deepEqual(
      bad.body.errors.map((e: { path: string }) => e.path),
      ['body.role'],
    );
    assertProblem(
      await call(app, 'PATCH', usersPath(user.id), { token: admin.token, body: {} }),
      400,
      'validation_failed',
    );
    const extra = await call(app, 'PATCH', usersPath(user.id), {
      token: admin.token,
      body: { role: 'support', email: 'x@y.z' },
    });
    assert.deepEqual(extra.body.errors, [{ path: 'body.email', message: 'unknown field' }]);
  });

  it('an admin cannot change their own role (so the last admin cannot lock everyone out)', async () => {
    const admin = await createUser(app, 'admin');
    const res = await call(app, 'PATCH', usersPath(admin.id), { token: admin.token, body: { role: 'customer' } });
    assertProblem(res, 403, 'forbidden');
    const same = await call(app, 'PATCH', usersPath(admin.id), { token: admin.token, body: { role: 'admin' } });
    assert.equal(same.status, 200);
  });

  it('an admin demoted a moment ago cannot use their still-valid admin token', async () => {
    const admin = await createUser(app, 'admin');
    const { user } = await register(app);
    await app.database.db.updateTable('users').set({ role: 'customer' }).where('id', '=', admin.id).execute();
    const res = await call(app, 'PATCH', usersPath(user.id), { token: admin.token, body: { role: 'admin' } });
    assertProblem(res, 403, 'forbidden');
  });
});

describe('the first admin (ensureAdmin)', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.close());

  it('creates the admin when absent; it can sign in', async () => {
    const email = uniqueEmail('boss');
    const { created, user } = await ensureAdmin(app.database.db, ` ${email.toUpperCase()} `, PASSWORD);
    assert.equal(created, true);
    assert.equal(user.role, 'admin');
    assert.equal(user.email, email);
    const login = await call(app, 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
    assert.equal(login.status, 200);
    assert.equal(login.body.user.role, 'admin');
  });

  it('never overwrites an existing account: neither its password nor its role', async () => {
    const { user } = await register(app);
    const result = await ensureAdmin(app.database.db, user.email, 'a different password');
    assert.equal(result.created, false);
    assert.equal(result.user.role, 'customer');
    const login = await call(app, 'POST', '/api/v1/auth/login', { body: { email: user.email, password: PASSWORD } });
    assert.equal(login.status, 200);
    assert.equal(login.body.user.role, 'customer');
  });

  it('is safe when several processes start at once: one admin row', async () => {
    const email = uniqueEmail('boss');
    const results = await Promise.all(Array.from({ length: 3 }, () => ensureAdmin(app.database.db, email, PASSWORD)));
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.equal(new Set(results.map((r) => r.user.id)).size, 1);
  });

  it('refuses a short password or a bad e-mail', async () => {
    await assert.rejects(ensureAdmin(app.database.db, uniqueEmail(), 'short'));
    await assert.rejects(ensureAdmin(app.database.db, 'not-an-email', PASSWORD));
  });
});
