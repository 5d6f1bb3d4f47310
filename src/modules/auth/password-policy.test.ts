import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { ensureAdmin } from './users.service.ts';
import { passwordProblem } from './password-policy.ts';

// docs/api.md § Accounts, "passwords": the blocklist, repetition, and the e-mail and shop name.
describe('the password rule', () => {
  it('refuses passwords from the breach list, also with digits and symbols around them or spaces inside', async () => {
    for (const password of [
      'password1234',
      'Password1234!',
      '123456789012',
      'iloveyou2024',
      'pass word 2024',
      'QwertyUiop12',
    ]) {
      assert.match((await passwordProblem(password)) ?? 'accepted', /too common/, password);
    }
  });

  it('refuses one sequence repeated and too few different characters', async () => {
    for (const password of ['abcabcabcabc', 'zzzzzzzzzzzzzz', 'ab12ab12ab12ab12', 'aabbaabbccaabb']) {
      assert.match((await passwordProblem(password)) ?? 'accepted', /too repetitive|too common/, password);
    }
  });

  it("refuses passwords built from the user's e-mail address or the shop's name", async () => {
    const cases: [string, string][] = [
      ['ada.lovelace1815!', 'ada.lovelace@example.com'],
      ['Lovelace-Ada-1815', 'ada.lovelace@example.com'],
      ['ada@example.com1', 'ada@example.com'],
      ['example!!2024ada', 'ada@example.com'],
      ['fulcrum#2024#Fulcrum#', 'ada@example.com'],
      ['MyFulcrum#2024', 'ada@example.com'],
    ];
    for (const [password, email] of cases) {
      assert.match((await passwordProblem(password, { email })) ?? 'accepted', /e-mail address or the shop/, password);
    }
  });

  it('accepts long passphrases and passwords that only touch the e-mail', async () => {
    const cases: [string, string | undefined][] = [
      ['correct horse battery staple', undefined],
      ['a quiet lantern by the sea', 'sea@example.com'],
      ['lovelace rides a comet', 'ada@example.com'],
      ['ada and the analytical engine', 'ada@example.com'],
      ['7f3k-Wq9z-Lm2x-Rt8v', 'ada@example.com'],
    ];
    for (const [password, email] of cases)
      assert.equal(await passwordProblem(password, { email }), undefined, password);
  });

  describe('over HTTP and at start', () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp({ env: { API_RATE_LIMIT_PER_MINUTE: '0' } });
    });
    after(() => app.close());

    const users = async () =>
      Number(
        (
          await app.database.db
            .selectFrom('users')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );

    it('registration answers 400 validation_failed saying why at body.password, and creates nothing', async () => {
      const before = await users();
      const cases: [string, RegExp][] = [
        ['Password1234!', /too common/],
        ['abcabcabcabc', /too repetitive/],
        ['hal.9000.hal.2001', /e-mail address or the shop/],
      ];
      for (const [password, why] of cases) {
        const res = await call(app, 'POST', '/api/v1/auth/register', {
          body: { email: 'hal.9000@example.test', password, name: 'Hal' },
        });
        assert.equal(res.status, 400, password);
        assert.equal(res.body.code, 'validation_failed');
        assert.equal(res.body.errors.length, 1);
        assert.equal(res.body.errors[0].path, 'body.password');
        assert.match(res.body.errors[0].message, why);
      }
      assert.equal(await users(), before);
      const ok = await call(app, 'POST', '/api/v1/auth/register', {
        body: { email: 'hal.9000@example.test', password: 'open the pod bay doors', name: 'Hal' },
      });
      assert.equal(ok.status, 201);
    });

    it('the first-admin setup refuses it the same way, before looking at the token', async () => {
      const res = await call(app, 'POST', '/api/v1/setup', {
        body: { token: 'whatever', email: 'root@example.test', password: 'password1234', name: 'Root' },
      });
      assert.equal(res.status, 400);
      assert.equal(res.body.errors[0].path, 'body.password');
    });

    it('FULCRUM_ADMIN_PASSWORD and the CLI refuse it with the reason', async () => {
      await assert.rejects(ensureAdmin(app.database.db, 'ops@example.test', 'qwerty123456'), /too common/);
      assert.equal(
        await app.database.db
          .selectFrom('users')
          .select('id')
          .where('email', '=', 'ops@example.test')
          .executeTakeFirst(),
        undefined,
      );
    });

    it('login does not apply the rule: a password set before it keeps working', async () => {
      const { hashPassword } = await import('./password.ts');
      await app.database.db
        .insertInto('users')
        .values({
          id: 'usr_oldpassword000000000',
          email: 'old@example.test',
          name: 'Old',
          password_hash: await hashPassword('password1234'),
        })
        .execute();
      const res = await call(app, 'POST', '/api/v1/auth/login', {
        body: { email: 'old@example.test', password: 'password1234' },
      });
      assert.equal(res.status, 200);
    });
  });
});
