import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, currencyExponent, escapeHtml, formatMoney, isLuhnValid, seededRandom } from './util.ts';

test('money is formatted with the currency’s exponent', () => {
  assert.equal(currencyExponent('usd'), 2);
  assert.equal(currencyExponent('JPY'), 0);
  assert.equal(currencyExponent('kwd'), 3);
  // Codes Fulcrum's table leaves out are two-decimal at Stripe, as ISK is.
  assert.equal(currencyExponent('isk'), 2);
  assert.equal(formatMoney(1234, 'usd'), '$12.34');
  assert.equal(formatMoney(5, 'usd'), '$0.05');
  assert.equal(formatMoney(150000, 'jpy'), '¥150,000');
  assert.match(formatMoney(1234, 'kwd'), /^KWD[\s\u00a0]1\.234$/);
  assert.equal(formatMoney(1999, 'eur'), '€19.99');
});

test('HTML escaping covers the five special characters', () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&</a>`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
  );
});

test('Luhn check', () => {
  assert.equal(isLuhnValid('4242424242424242'), true);
  assert.equal(isLuhnValid('4242424242424241'), false);
  assert.equal(isLuhnValid('42424242'), false);
  assert.equal(isLuhnValid('4242 4242 4242 4242'), false);
});

test('canonical JSON ignores key order', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'x' } }),
    canonicalJson({ a: { c: 'x', d: [1, { x: 1, y: 2 }] }, b: 1 }),
  );
  assert.notEqual(canonicalJson({ a: 1 }), canonicalJson({ a: '1' }));
});

test('a seeded generator repeats its sequence', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const xs = [a(), a(), a()];
  assert.deepEqual(xs, [b(), b(), b()]);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});
