import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { currencies, exponentOf } from './money.ts';

/** web/currencies.js (the dashboard's currency list and decimals) is plain browser JavaScript, loaded here as a module. */
const webPath = '../../web/currencies.js';
const web = (await import(webPath)) as {
  CURRENCIES: Record<string, number>;
  toMinorUnits(text: string, currency: string): number | null;
  toUnitsText(amount: number, currency: string): string;
};

describe('web/currencies.js agrees with src/shared/money.ts', () => {
  it('lists the same currencies with the same decimals', () => {
    assert.deepEqual(web.CURRENCIES, Object.fromEntries(currencies.map((c) => [c, exponentOf(c)])));
  });

  it('reads a price typed in units by the currency’s decimals, and writes it back', () => {
    assert.equal(web.toMinorUnits('12.50', 'usd'), 1250);
    assert.equal(web.toMinorUnits('12,5', 'eur'), 1250);
    assert.equal(web.toMinorUnits('12', 'usd'), 1200);
    assert.equal(web.toMinorUnits('1500', 'jpy'), 1500);
    assert.equal(web.toMinorUnits('1.250', 'kwd'), 1250);
    for (const [text, currency] of [
      ['12.505', 'usd'],
      ['1500.5', 'jpy'],
      ['-1', 'usd'],
      ['1e3', 'usd'],
      ['', 'usd'],
      ['abc', 'usd'],
      ['1000000', 'usd'],
    ]) {
      assert.equal(web.toMinorUnits(text!, currency!), null, `${text} ${currency}`);
    }
    assert.equal(web.toUnitsText(1250, 'usd'), '12.50');
    assert.equal(web.toUnitsText(5, 'usd'), '0.05');
    assert.equal(web.toUnitsText(1500, 'jpy'), '1500');
    assert.equal(web.toUnitsText(1250, 'kwd'), '1.250');
  });
});
