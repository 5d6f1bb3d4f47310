import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT, UnsecuredJWT } from 'jose';
import { call, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { manualClock } from '../../shared/clock.ts';
import { PASSWORD, claimsOf, register, uniqueEmail } from './test-helpers.ts';

const REGISTER = '/api/v1/auth/register';
const LOGIN = '/api/v1/auth/login';
const ME = '/api/v1/auth/me';

function assertProblem(res: { status: number; headers: Headers; body: any }, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  assert.equal(res.body.code, code);
  assert.equal(res.body.status, status);
}

const pathsOf = (body: any): string[] => (body.errors as { path: string }[]).map((e) => e.path).sort();

describe('auth: register', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.close());

  it('creates a customer with a normalised e-mail and signs them in', async () => {
    const local = uniqueEmail('reg');
    const res = await call(app, 'POST', REGISTER, {
      body: { email: `  ${local.toUpperCase()} `, password: PASSWORD, name: 'Ann Example' },
    });
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(res.body).sort(), ['accessToken', 'expiresIn', 'refreshToken', 'user']);
    assert.deepEqual(Object.keys(res.body.user).sort(), [
      'createdAt',
      'disabled',
      'email',
      'emailVerified',
      'id',
      'name',
      'pendingEmail',
      'role',
    ]);
    assert.equal(res.body.user.email, local);
    assert.equal(res.body.user.role, 'customer');
    assert.equal(res.body.user.name, 'Ann Example');
    assert.match(res.body.user.id, /^usr_/);
    assert.ok(!Number.isNaN(Date.parse(res.body.user.createdAt)));
    assert.equal(res.body.expiresIn, 900);
    assert.equal(typeof res.body.refreshToken, 'string');
    const claims = claimsOf(res.body.accessToken);
    assert.equal(claims.sub, res.body.user.id);
    assert.equal(claims.role, 'customer');
    assert.equal((claims.exp as number) - (claims.iat as number), 900);
    const me = await call(app, 'GET', ME, { token: res.body.accessToken });
    assert.deepEqual(me.body, { user: res.body.user });
  });

  it('stores the password as an argon2id hash, never in clear', async () => {
    const session = await register(app);
    const row = await app.database.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', session.user.id)
      .executeTakeFirstOrThrow();
    assert.match(row.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.ok(!row.password_hash.includes(PASSWORD));
  });

  it('refuses a taken e-mail, whatever its case or spacing, with 409 email_taken', async () => {
    const email = uniqueEmail('dup');
    await register(app, { email });
    const again = await call(app, 'POST', REGISTER, {
      body: { email: ` ${email.toUpperCase()}`, password: 'another password 1', name: 'Other' },
    });
    assertProblem(again, 409, 'email_taken');
  });

  it('when two registrations of one e-mail race, exactly one succeeds', async () => {
    const email = uniqueEmail('race');
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        call(app, 'POST', REGISTER, { body: { email, password: PASSWORD, name: 'Racer' } }),
      ),
    );
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) assert.equal(r.body.code, 'email_taken');
  });

  it('refuses passwords shorter than 12 or longer than 128 characters', async () => {
    const short = await call(app, 'POST', REGISTER, {
      body: { email: uniqueEmail(), password: 'elevenchars', name: 'A' },
    });
    assertProblem(short, 400, 'validation_failed');
    assert.deepEqual(pathsOf(short.body), ['body.password']);
    const long = await call(app, 'POST', REGISTER, {
      body: { email: uniqueEmail(), password: 'x'.repeat(129), name: 'A' },
    });
    assert.deepEqual(pathsOf(long.body), ['body.password']);
    // Exactly 12 characters, and varied enough for the rest of the password rule (docs/api.md).
    const edge = await call(app, 'POST', REGISTER, {
      body: { email: uniqueEmail(), password: 'tpw8vkq3zmra', name: 'A' },
    });
    assert.equal(edge.status, 201, JSON.stringify(edge.body));
  });

  it('refuses wrong types and lists every problem', async () => {
    const res = await call(app, 'POST', REGISTER, { body: { email: 42, password: true, name: null } });
    assertProblem(res, 400, 'validation_failed');
    assert.deepEqual(pathsOf(res.body), ['body.email', 'body.name', 'body.password']);
  });

  it('refuses unknown keys: a client cannot register itself as admin', async () => {
    const res = await call(app, 'POST', REGISTER, {
      body: { email: uniqueEmail(), password: PASSWORD, name: 'Mallory', role: 'admin' },
    });
    assertProblem(res, 400, 'validation_failed');
    assert.deepEqual(res.body.errors, [{ path: 'body.role', message: 'unknown field' }]);
  });

  it('refuses a missing field, an invalid e-mail and an empty name', async () => {
    const missing = await call(app, 'POST', REGISTER, { body: { email: uniqueEmail(), password: PASSWORD } });
    assert.deepEqual(pathsOf(missing.body), ['body.name']);
    const bad = await call(app, 'POST', REGISTER, { body: { email: 'not-an-email', password: PASSWORD, name: ' ' } });
    assert.deepEqual(pathsOf(bad.body), ['body.email', 'body.name']);
  });

  it('answers malformed JSON with 400 validation_failed and a non-JSON body with 415', async () => {
    const malformed = await call(app, 'POST', REGISTER, {
      rawBody: '{"email": "a@b.c", ',
      headers: { 'content-type': 'application/json' },
    });
    assertProblem(malformed, 400, 'validation_failed');
    const form = await call(app, 'POST', REGISTER, {
      rawBody: 'email=a@b.c',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assertProblem(form, 415, 'unsupported_media_type');
  });
});

describe('auth: login', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.close());

  it('signs in with the right password, the e-mail in any case', async () => {
    const session = await register(app);
    const res = await call(app, 'POST', LOGIN, {
      body: { email: ` ${session.user.email.toUpperCase()} `, password: PASSWORD },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.user, session.user);
    assert.equal(res.body.expiresIn, 900);
    assert.notEqual(res.body.refreshToken, session.refreshToken);
    assert.equal((await call(app, 'GET', ME, { token: res.body.accessToken })).status, 200);
  });

  it('gives the same 401 invalid_credentials for a wrong password and an unknown e-mail', async () => {
    const session = await register(app);
    const wrong = await call(app, 'POST', LOGIN, { body: { email: session.user.email, password: 'wrong password!!' } });
    const unknown = await call(app, 'POST', LOGIN, { body: { email: uniqueEmail('nobody'), password: PASSWORD } });
    assertProblem(wrong, 401, 'invalid_credentials');
    const strip = (b: any) => ({ ...b, instance: undefined });
    assert.deepEqual(strip(unknown.body), strip(wrong.body));
    assert.equal(unknown.status, wrong.status);
  });

  it('refuses unknown keys and wrong types', async () => {
    const extra = await call(app, 'POST', LOGIN, {
      body: { email: uniqueEmail(), password: PASSWORD, remember: true },
    });
    assert.deepEqual(extra.body.errors, [{ path: 'body.remember', message: 'unknown field' }]);
    const types = await call(app, 'POST', LOGIN, { body: { email: ['a'], password: 1 } });
    assertProblem(types, 400, 'validation_failed');
    assert.deepEqual(pathsOf(types.body), ['body.email', 'body.password']);
  });

  it('rehashes a password stored with weaker parameters at the next login', async () => {
    const { hashPassword } = await import('./password.ts');
    const session = await register(app);
    const weak = await hashPassword(PASSWORD, { memory: 4096, passes: 1, parallelism: 1 });
    await app.database.db.updateTable('users').set({ password_hash: weak }).where('id', '=', session.user.id).execute();
    const res = await call(app, 'POST', LOGIN, { body: { email: session.user.email, password: PASSWORD } });
    assert.equal(res.status, 200);
    const row = await app.database.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', session.user.id)
      .executeTakeFirstOrThrow();
    assert.match(row.password_hash, /\$m=19456,t=2,p=1\$/);
  });
});

describe('auth: me and access tokens', () => {
  const clock = manualClock(new Date('2026-03-01T12:00:00Z'));
  let app: TestApp;
  let key: Uint8Array;
  before(async () => {
    app = await startTestApp({ clock });
    key = new TextEncoder().encode(app.config.JWT_SECRET);
  });
  after(() => app.close());

  const forge = (sub: string, edit: (jwt: SignJWT) => SignJWT = (j) => j) => {
    const now = Math.floor(clock.now().getTime() / 1000);
    return edit(
      new SignJWT({ role: 'customer' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(sub)
        .setIssuer('fulcrum')
        .setAudience('fulcrum-api')
        .setIssuedAt(now)
        .setExpirationTime(now + 900),
    ).sign(key);
  };

  it('answers the signed-in user, and 401 unauthorized without a token or with a malformed header', async () => {
    const session = await register(app);
    const me = await call(app, 'GET', ME, { token: session.accessToken });
    assert.equal(me.status, 200);
    assert.deepEqual(me.body, { user: session.user });
    assertProblem(await call(app, 'GET', ME), 401, 'unauthorized');
    assertProblem(await call(app, 'GET', ME, { headers: { authorization: 'Basic YTpi' } }), 401, 'unauthorized');
    assertProblem(await call(app, 'GET', ME, { token: 'not.a.jwt' }), 401, 'unauthorized');
  });

  it('a token signed by us with the test clock works: the forging helper is sound', async () => {
    const session = await register(app);
    assert.equal((await call(app, 'GET', ME, { token: await forge(session.user.id) })).status, 200);
  });

  it('refuses an expired access token with 401 token_expired', async () => {
    const session = await register(app);
    clock.advance(15 * 60 * 1000 + 1000);
    try {
      assertProblem(await call(app, 'GET', ME, { token: session.accessToken }), 401, 'token_expired');
    } finally {
      clock.set(new Date('2026-03-01T12:00:00Z'));
    }
  });

  it('refuses a token with a forged signature', async () => {
    const session = await register(app);
    const other = new TextEncoder().encode('another-secret-another-secret-another-secret');
    const now = Math.floor(clock.now().getTime() / 1000);
    const forged = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(session.user.id)
      .setIssuer('fulcrum')
      .setAudience('fulcrum-api')
      .setIssuedAt(now)
      .setExpirationTime(now + 900)
      .sign(other);
    assertProblem(await call(app, 'GET', ME, { token: forged }), 401, 'unauthorized');
    // The right signature over a tampered payload is refused as well.
    const [h, , s] = session.accessToken.split('.');
    const payload = Buffer.from(JSON.stringify({ ...claimsOf(session.accessToken), role: 'admin' })).toString(
      'base64url',
    );
    assertProblem(await call(app, 'GET', ME, { token: `${h}.${payload}.${s}` }), 401, 'unauthorized');
  });

  it('refuses an unsigned `alg: none` token', async () => {
    const session = await register(app);
    const now = Math.floor(clock.now().getTime() / 1000);
    const none = new UnsecuredJWT({ role: 'admin' })
      .setSubject(session.user.id)
      .setIssuer('fulcrum')
      .setAudience('fulcrum-api')
      .setIssuedAt(now)
      .setExpirationTime(now + 900)
      .encode();
    assertProblem(await call(app, 'GET', ME, { token: none }), 401, 'unauthorized');
  });

  it('refuses a wrong issuer, a wrong audience, a missing subject and an unknown role', async () => {
    const session = await register(app);
    const id = session.user.id;
    const tokens = [
      await forge(id, (j) => j.setIssuer('someone-else')),
      await forge(id, (j) => j.setAudience('another-api')),
      await forge(id, (j) => j.setSubject('')),
      await new SignJWT({ role: 'superuser' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(id)
        .setIssuer('fulcrum')
        .setAudience('fulcrum-api')
        .setIssuedAt(Math.floor(clock.now().getTime() / 1000))
        .setExpirationTime(Math.floor(clock.now().getTime() / 1000) + 900)
        .sign(key),
    ];
    for (const token of tokens) assertProblem(await call(app, 'GET', ME, { token }), 401, 'unauthorized');
  });

  it('refuses a valid token whose user no longer exists', async () => {
    const session = await register(app);
    await app.database.db.deleteFrom('users').where('id', '=', session.user.id).execute();
    assertProblem(await call(app, 'GET', ME, { token: session.accessToken }), 401, 'unauthorized');
  });

  it('refuses a query string on /me', async () => {
    const session = await register(app);
    assertProblem(await call(app, 'GET', `${ME}?x=1`, { token: session.accessToken }), 400, 'validation_failed');
  });
});
