import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, needsRehash, PASSWORD_PARAMS, verifyAgainstDummy, verifyPassword } from './password.ts';

describe('password hashing (argon2id)', () => {
  it('stores a self-describing PHC string with m=19456, t=2, p=1, a 16-byte salt and a 32-byte tag', async () => {
    const encoded = await hashPassword('correct horse battery staple');
    const match = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(encoded);
    assert.ok(match, encoded);
    assert.equal(Buffer.from(match[1]!, 'base64').length, 16);
    assert.equal(Buffer.from(match[2]!, 'base64').length, 32);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const encoded = await hashPassword('correct horse battery staple');
    assert.equal(await verifyPassword(encoded, 'correct horse battery staple'), true);
    assert.equal(await verifyPassword(encoded, 'correct horse battery stapl'), false);
    assert.equal(await verifyPassword(encoded, ''), false);
  });

  it('salts: the same password hashes differently twice', async () => {
    assert.notEqual(await hashPassword('same password here'), await hashPassword('same password here'));
  });

  it('verifies the reference implementation’s known answer (phc-winner-argon2 README)', async () => {
    const reference = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc';
    assert.equal(await verifyPassword(reference, 'password'), true);
    assert.equal(await verifyPassword(reference, 'Password'), false);
  });

  it('reads the parameters from the hash, so hashes made with other parameters still verify', async () => {
    const weaker = await hashPassword('an older account pw', { memory: 4096, passes: 1, parallelism: 1 });
    assert.match(weaker, /\$m=4096,t=1,p=1\$/);
    assert.equal(await verifyPassword(weaker, 'an older account pw'), true);
    assert.equal(needsRehash(weaker), true);
    assert.equal(needsRehash(await hashPassword('a current account pw')), false);
  });

  it('never matches a malformed or hostile hash', async () => {
    const good = await hashPassword('correct horse battery staple');
    const bad = [
      '',
      'not-a-hash',
      good.replace('$argon2id$', '$argon2i$'),
      good.replace('v=19', 'v=16'),
      good.replace('m=19456', 'm=99999999'),
      good.replace('t=2', 't=0'),
      good.replace(/\$[^$]+$/, '$AAAA'),
    ];
    for (const encoded of bad) {
      assert.equal(await verifyPassword(encoded, 'correct horse battery staple'), false, encoded);
      assert.equal(needsRehash(encoded), true);
    }
  });

  it('the dummy verification for unknown e-mails always fails', async () => {
    assert.equal(await verifyAgainstDummy('correct horse battery staple'), false);
  });

  it('uses the OWASP parameters', () => {
    assert.deepEqual({ ...PASSWORD_PARAMS }, { memory: 19456, passes: 2, parallelism: 1 });
  });
});
