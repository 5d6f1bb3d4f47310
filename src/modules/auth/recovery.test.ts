import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { connectClient } from '../../../test/realtime/support.ts';
import { manualClock } from '../../shared/clock.ts';
import { RESET_ANSWER_FLOOR_MS } from './recovery.service.ts';
import { mailsTo, PASSWORD, register, tokenIn, uniqueEmail } from './test-helpers.ts';

// docs/api.md § Accounts: password reset (POST /auth/password-reset, /confirm).
describe('password reset', () => {
  const clock = manualClock(new Date());
  let app: TestApp;
  let ipSeq = 0;
  /** Each test its own client address (TRUST_PROXY=loopback), so the per-address limit is its own. */
  const newIp = () => `203.0.113.${++ipSeq}`;
  before(async () => {
    app = await startTestApp({ clock, env: { API_RATE_LIMIT_PER_MINUTE: '0', TRUST_PROXY: 'loopback' } });
  });
  after(async () => {
    await app.built.realtime.close();
    await app.close();
  });

  const ask = (email: string, ip = newIp()) =>
    call(app, 'POST', '/api/v1/auth/password-reset', { body: { email }, headers: { 'x-forwarded-for': ip } });
  const confirm = (token: string, password: string) =>
    call(app, 'POST', '/api/v1/auth/password-reset/confirm', { body: { token, password } });
  const login = (email: string, password: string) =>
    call(app, 'POST', '/api/v1/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': newIp() } });
  const resetMails = async (email: string) =>
    (await mailsTo(app.database.db, email)).filter((m) => m.event_key.startsWith('password_reset:'));
  const NEW = 'a brand new kettle of fish';

  it('answers 202 whatever the address; only a known account gets a mail, with a link', async () => {
    const ann = await register(app, { email: uniqueEmail('ann') });
    const known = await ask(ann.user.email);
    const unknown = await ask(uniqueEmail('nobody'));
    assert.equal(known.status, 202);
    assert.equal(unknown.status, 202);
    assert.deepEqual(known.body, unknown.body);
    const mails = await resetMails(ann.user.email);
    assert.equal(mails.length, 1);
    assert.match(mails[0]!.subject, /Reset your Fulcrum password/);
    assert.match(mails[0]!.text_body, new RegExp(`${app.config.PUBLIC_URL}/reset\\?token=[\\w-]+`));
    assert.match(mails[0]!.html_body, /href="http:\/\/127\.0\.0\.1:0\/reset\?token=/);
    assert.equal(mails[0]!.status, 'pending', 'the request only writes it: the worker sends it');
    const all = await app.database.db.selectFrom('mails').select('to_address').execute();
    assert.ok(!all.some((m) => m.to_address.startsWith('nobody_')));
  });

  it('a known and an unknown address are both answered no sooner than the floor (the writes do not show)', async () => {
    const cy = await register(app, { email: uniqueEmail('cy') });
    for (const email of [cy.user.email, uniqueEmail('nobody')]) {
      const began = performance.now();
      const res = await ask(email);
      const took = performance.now() - began;
      assert.equal(res.status, 202);
      assert.ok(took >= RESET_ANSWER_FLOOR_MS - 1, `${email} answered after ${took.toFixed(1)} ms`);
    }
    assert.equal((await resetMails(cy.user.email)).length, 1, 'the known one still got its mail');
  });

  it('the token sets the password once: every session is signed out and the sockets are closed', async () => {
    const bea = await register(app, { email: uniqueEmail('bea') });
    const second = await login(bea.user.email, PASSWORD);
    const socket = await connectClient(app.baseUrl, { token: bea.accessToken });
    const closed = new Promise<string>((resolve) => socket.socket.once('disconnect', resolve));
    await ask(bea.user.email);
    const token = tokenIn((await resetMails(bea.user.email))[0]!.text_body);

    assert.equal((await confirm(token, NEW)).status, 204);
    assert.equal(await closed, 'io server disconnect');
    for (const refreshToken of [bea.refreshToken, second.body.refreshToken as string]) {
      assert.equal((await call(app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken } })).status, 401);
    }
    assert.equal((await login(bea.user.email, PASSWORD)).status, 401);
    assert.equal((await login(bea.user.email, NEW)).status, 200);

    const again = await confirm(token, 'yet another fine password');
    assert.equal(again.status, 400);
    assert.equal(again.body.code, 'invalid_token');
    assert.match(again.body.detail, /already used/);
    assert.equal((await login(bea.user.email, NEW)).status, 200, 'the reused token changed nothing');
  });

  it('an unknown token, an expired one (30 minutes) and a verification token are refused; nothing changes', async () => {
    const cal = await register(app, { email: uniqueEmail('cal') });
    const unknown = await confirm('not-a-token-we-made', NEW);
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.code, 'invalid_token');

    const verifyToken = tokenIn((await mailsTo(app.database.db, cal.user.email))[0]!.text_body);
    const wrongKind = await confirm(verifyToken, NEW);
    assert.equal(wrongKind.body.code, 'invalid_token');

    await ask(cal.user.email);
    const token = tokenIn((await resetMails(cal.user.email))[0]!.text_body);
    clock.advance(30 * 60_000 + 1);
    const expired = await confirm(token, NEW);
    assert.equal(expired.status, 400);
    assert.equal(expired.body.code, 'invalid_token');
    assert.match(expired.body.detail, /expired/);
    assert.equal((await login(cal.user.email, PASSWORD)).status, 200, 'the password is unchanged');
  });

  it('a password the rule refuses is 400 at body.password, and the token still works afterwards', async () => {
    const dan = await register(app, { email: uniqueEmail('dan') });
    await ask(dan.user.email);
    const token = tokenIn((await resetMails(dan.user.email))[0]!.text_body);
    for (const password of ['Password1234!', 'short']) {
      const res = await confirm(token, password);
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'validation_failed');
      assert.equal(res.body.errors[0].path, 'body.password');
    }
    assert.equal((await confirm(token, NEW)).status, 204);
  });

  it('more than 5 requests for one e-mail within an hour: 429 rate_limited, and no mail', async () => {
    const eve = await register(app, { email: uniqueEmail('eve') });
    for (let i = 0; i < 5; i += 1) assert.equal((await ask(eve.user.email)).status, 202);
    const sixth = await ask(eve.user.email);
    assert.equal(sixth.status, 429);
    assert.equal(sixth.body.code, 'rate_limited');
    assert.ok(Number(sixth.headers.get('retry-after')) > 0);
    assert.equal((await resetMails(eve.user.email)).length, 5);
  });

  it('more than 20 requests from one address within an hour: 429, whatever the e-mails, and no mail', async () => {
    const ip = newIp();
    const fay = await register(app, { email: uniqueEmail('fay') });
    for (let i = 0; i < 20; i += 1) assert.equal((await ask(uniqueEmail('spray'), ip)).status, 202);
    const refused = await ask(fay.user.email, ip);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.code, 'rate_limited');
    assert.equal((await resetMails(fay.user.email)).length, 0);
    assert.equal((await ask(fay.user.email)).status, 202, 'another address is not limited');
  });

  it('a disabled account gets the same 202 and no mail; malformed bodies are 400', async () => {
    const gil = await register(app, { email: uniqueEmail('gil') });
    await app.database.db.updateTable('users').set({ disabled_at: new Date() }).where('id', '=', gil.user.id).execute();
    assert.equal((await ask(gil.user.email)).status, 202);
    assert.equal((await resetMails(gil.user.email)).length, 0);
    for (const body of [{}, { email: 'not an address' }, { email: 'a@b.test', extra: 1 }]) {
      const res = await call(app, 'POST', '/api/v1/auth/password-reset', { body });
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'validation_failed');
    }
    const noPassword = await call(app, 'POST', '/api/v1/auth/password-reset/confirm', { body: { token: 'x' } });
    assert.equal(noPassword.status, 400);
  });
});
