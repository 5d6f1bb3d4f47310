import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderBanner, setupLink, TEST_CARD } from './banner.ts';

const base = 'http://127.0.0.1:3000';
const ESC = '\u001b[';

describe('the start banner', () => {
  it('names the storefront, admin, docs and sandbox, the test card, and the setup link while no admin exists', () => {
    const token = 'tok_ABC-123_xyz';
    const text = renderBanner({
      baseUrl: base,
      sandboxUrl: 'http://127.0.0.1:12111',
      testMode: true,
      setup: { token, expiresAt: new Date(Date.now() + 3600_000) },
    });
    assert.match(text, /Storefront\s+http:\/\/127\.0\.0\.1:3000\/\s/);
    assert.match(text, /Admin\s+http:\/\/127\.0\.0\.1:3000\/admin\s/);
    assert.match(text, /API docs\s+http:\/\/127\.0\.0\.1:3000\/docs\s/);
    assert.match(text, /Sandbox\s+http:\/\/127\.0\.0\.1:12111\s/);
    assert.ok(text.includes('4242 4242 4242 4242'));
    assert.equal(TEST_CARD, '4242 4242 4242 4242');
    assert.match(text, /No admin yet/);
    assert.ok(text.includes(`    ${base}/admin?setup=${token}\n`), 'the link alone on its line, easy to copy');
    assert.ok(!text.includes(ESC), 'no colour codes unless asked');
  });

  it('has no setup token or link once an admin exists', () => {
    const text = renderBanner({ baseUrl: base, sandboxUrl: 'http://127.0.0.1:12111', testMode: true });
    assert.doesNotMatch(text, /setup/i);
    assert.doesNotMatch(text, /No admin/);
    assert.match(text, /Storefront/);
  });

  it('leaves out the sandbox when it does not run, and the test card with live payments', () => {
    const live = renderBanner({ baseUrl: 'https://shop.example', testMode: false });
    assert.doesNotMatch(live, /Sandbox|4242/);
    assert.match(live, /https:\/\/shop\.example\/admin/);
    const stripeTest = renderBanner({ baseUrl: 'https://shop.example', testMode: true });
    assert.doesNotMatch(stripeTest, /Sandbox/);
    assert.match(stripeTest, /4242 4242 4242 4242/);
  });

  it('colours for a terminal, and escapes the token in the link', () => {
    const text = renderBanner({ baseUrl: base, testMode: true, color: true });
    assert.ok(text.includes(ESC));
    assert.equal(setupLink(base, 'a+b/c='), `${base}/admin?setup=a%2Bb%2Fc%3D`);
  });
});
