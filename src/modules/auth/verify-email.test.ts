import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { call, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { mailsTo, PASSWORD, register, tokenIn, uniqueEmail } from './test-helpers.ts';

// docs/api.md § Accounts: e-mail verification, REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT, POST /auth/email.
describe('e-mail verification and change', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ env: { API_RATE_LIMIT_PER_MINUTE: '0', REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT: 'true' } });
  });
  after(() => app.close());

  const verify = (token: string) => call(app, 'POST', '/api/v1/auth/verify-email', { body: { token } });
  const verifyMails = async (email: string) =>
    (await mailsTo(app.database.db, email)).filter((m) => m.event_key.startsWith('verify_email:'));
  const checkout = (token: string) =>
    call(app, 'POST', '/api/v1/orders/ord_00000000000000000000/checkout', {
      token,
      body: {},
      headers: { 'idempotency-key': randomUUID() },
    });
  const changeEmail = (token: string, body: unknown) => call(app, 'POST', '/api/v1/auth/email', { token, body });
  const login = (email: string, password = PASSWORD) =>
    call(app, 'POST', '/api/v1/auth/login', { body: { email, password } });

  it('registration mails a link; until it is used checkout is 403 email_not_verified, then it goes on', async () => {
    const ann = await register(app, { email: uniqueEmail('ann') });
    assert.equal(ann.user.emailVerified, false);
    assert.equal(ann.user.pendingEmail, null);
    const mails = await verifyMails(ann.user.email);
    assert.equal(mails.length, 1);
    assert.match(mails[0]!.text_body, /\/verify\?token=/);

    const refused = await checkout(ann.accessToken);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'email_not_verified');

    const res = await verify(tokenIn(mails[0]!.text_body));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.user.emailVerified, true);
    const me = await call(app, 'GET', '/api/v1/auth/me', { token: ann.accessToken });
    assert.equal(me.body.user.emailVerified, true);
    // Past the check: the (unknown) order is what answers now.
    assert.equal((await checkout(ann.accessToken)).status, 404);

    const again = await verify(tokenIn(mails[0]!.text_body));
    assert.equal(again.status, 400);
    assert.equal(again.body.code, 'invalid_token');
    assert.equal((await verify('no-such-token')).body.code, 'invalid_token');
  });

  it('without REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT an unverified customer checks out', async () => {
    const other = await startTestApp({ env: { API_RATE_LIMIT_PER_MINUTE: '0' } });
    try {
      const bob = await register(other, { email: uniqueEmail('bob') });
      const res = await call(other, 'POST', '/api/v1/orders/ord_00000000000000000000/checkout', {
        token: bob.accessToken,
        body: {},
        headers: { 'idempotency-key': randomUUID() },
      });
      assert.equal(res.status, 404);
    } finally {
      await other.close();
    }
  });

  it('a new link can be asked for (the older one stops working); a verified address has nothing to verify', async () => {
    const cat = await register(app, { email: uniqueEmail('cat') });
    const resend = await call(app, 'POST', '/api/v1/auth/verify-email/resend', { token: cat.accessToken });
    assert.equal(resend.status, 202);
    const [first, second] = await verifyMails(cat.user.email);
    assert.ok(first !== undefined && second !== undefined);
    assert.equal((await verify(tokenIn(second.text_body))).status, 200);
    assert.equal((await verify(tokenIn(first.text_body))).body.code, 'invalid_token');
    const done = await call(app, 'POST', '/api/v1/auth/verify-email/resend', { token: cat.accessToken });
    assert.equal(done.status, 409);
    assert.equal(done.body.code, 'email_already_verified');
  });

  it('POST /auth/email: the new address counts once verified; the old one works until then', async () => {
    const dot = await register(app, { email: uniqueEmail('dot') });
    const next = uniqueEmail('dot-new');
    const res = await changeEmail(dot.accessToken, { email: next, password: PASSWORD });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.user.email, dot.user.email);
    assert.equal(res.body.user.pendingEmail, next);
    assert.equal((await login(dot.user.email)).status, 200, 'still the old address');
    assert.equal((await login(next)).status, 401);

    const mail = (await verifyMails(next))[0];
    assert.ok(mail !== undefined, 'the link goes to the new address');
    const verified = await verify(tokenIn(mail.text_body));
    assert.equal(verified.status, 200);
    assert.equal(verified.body.user.email, next);
    assert.equal(verified.body.user.pendingEmail, null);
    assert.equal(verified.body.user.emailVerified, true);
    assert.equal((await login(next)).status, 200);
    assert.equal((await login(dot.user.email)).status, 401);
  });

  it('refuses a wrong password, a taken or unchanged address and bad bodies; nothing changes', async () => {
    const eve = await register(app, { email: uniqueEmail('eve') });
    const taken = await register(app, { email: uniqueEmail('taken') });
    const cases: [unknown, number, string][] = [
      [{ email: uniqueEmail('x'), password: 'not the password at all' }, 403, 'wrong_password'],
      [{ email: taken.user.email.toUpperCase(), password: PASSWORD }, 409, 'email_taken'],
      [{ email: eve.user.email, password: PASSWORD }, 409, 'email_unchanged'],
      [{ email: 'nope', password: PASSWORD }, 400, 'validation_failed'],
      [{ email: uniqueEmail('x') }, 400, 'validation_failed'],
    ];
    for (const [body, status, code] of cases) {
      const res = await changeEmail(eve.accessToken, body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.body.code, code);
    }
    const me = await call(app, 'GET', '/api/v1/auth/me', { token: eve.accessToken });
    assert.equal(me.body.user.pendingEmail, null);
    assert.equal((await verifyMails(eve.user.email)).length, 1, 'only the registration link');
  });

  it('a verification link for an address another account took meanwhile is 409 email_taken', async () => {
    const fay = await register(app, { email: uniqueEmail('fay') });
    const wanted = uniqueEmail('wanted');
    assert.equal((await changeEmail(fay.accessToken, { email: wanted, password: PASSWORD })).status, 202);
    await register(app, { email: wanted });
    const links = await verifyMails(wanted);
    assert.equal(links.length, 2, 'one for fay’s change, one for the new account');
    const res = await verify(tokenIn(links[0]!.text_body));
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'email_taken');
    const me = await call(app, 'GET', '/api/v1/auth/me', { token: fay.accessToken });
    assert.equal(me.body.user.email, fay.user.email);
  });
});
