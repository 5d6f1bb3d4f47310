import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  add,
  commonCurrency,
  currencies,
  exponentOf,
  formatMoney,
  isCurrency,
  money,
  moneyInputSchema,
  multiply,
  subtract,
  sum,
  toDecimalString,
  type Currency,
} from './money.ts';

const currencyArb = fc.constantFrom(...currencies);
/** Amounts small enough that any list of 200 of them stays a safe integer. */
const amountArb = fc.integer({ min: -1e12, max: 1e12 });

describe('money', () => {
  it('knows 0-, 2- and 3-decimal currencies', () => {
    for (const c of ['jpy', 'krw', 'clp', 'vnd'] as const) assert.equal(exponentOf(c), 0);
    for (const c of ['usd', 'eur', 'gbp'] as const) assert.equal(exponentOf(c), 2);
    for (const c of ['kwd', 'bhd', 'jod', 'omr', 'tnd'] as const) assert.equal(exponentOf(c), 3);
    assert.equal(isCurrency('USD'), false, 'codes are lower case');
    assert.equal(isCurrency('xyz'), false);
  });

  it('takes no currency whose units Stripe counts differently: ISK (hundredths at Stripe), IQD and LYD (not at Stripe)', () => {
    for (const c of ['isk', 'iqd', 'lyd']) {
      assert.equal(isCurrency(c), false, c);
      assert.equal(moneyInputSchema.safeParse({ amount: 1500, currency: c }).success, false, c);
    }
  });

  it('refuses floats, unsafe integers and unknown currencies', () => {
    assert.throws(() => money(1.5, 'usd'), RangeError);
    assert.throws(() => money(Number.MAX_SAFE_INTEGER + 1, 'usd'), RangeError);
    assert.throws(() => money(1, 'xyz' as Currency), RangeError);
    assert.throws(() => multiply(money(1, 'usd'), 0.5), RangeError);
    assert.throws(() => add(money(Number.MAX_SAFE_INTEGER, 'usd'), money(1, 'usd')), RangeError);
  });

  it('refuses to mix currencies', () => {
    assert.throws(() => add(money(1, 'usd'), money(1, 'eur')), /currency mismatch/);
    assert.throws(() => sum([money(1, 'usd')], 'jpy'), /currency mismatch/);
    assert.equal(commonCurrency([money(1, 'usd'), money(2, 'eur')]), undefined);
    assert.equal(commonCurrency([money(1, 'usd'), money(2, 'usd')]), 'usd');
  });

  it('writes exact decimals by exponent', () => {
    assert.equal(toDecimalString(money(1999, 'usd')), '19.99');
    assert.equal(toDecimalString(money(5, 'usd')), '0.05');
    assert.equal(toDecimalString(money(-5, 'kwd')), '-0.005');
    assert.equal(toDecimalString(money(1234567, 'kwd')), '1234.567');
    assert.equal(toDecimalString(money(1999, 'jpy')), '1999');
    assert.equal(formatMoney(money(1999, 'usd')), '$19.99');
    assert.equal(formatMoney(money(1999, 'jpy')), '¥1,999');
    assert.match(formatMoney(money(1500, 'kwd')), /1\.500/);
  });

  it('formats amounts beyond float precision exactly', () => {
    // 2^53 - 1 cents: as a float divided by 100 it would lose digits.
    assert.equal(toDecimalString(money(Number.MAX_SAFE_INTEGER, 'usd')), '90071992547409.91');
    assert.match(formatMoney(money(Number.MAX_SAFE_INTEGER, 'usd')), /90,071,992,547,409\.91/);
  });

  it('validates request money: integer minor units, known lower-case currency', () => {
    assert.equal(moneyInputSchema.safeParse({ amount: 100, currency: 'usd' }).success, true);
    assert.equal(moneyInputSchema.safeParse({ amount: 1.5, currency: 'usd' }).success, false);
    assert.equal(moneyInputSchema.safeParse({ amount: '100', currency: 'usd' }).success, false);
    assert.equal(moneyInputSchema.safeParse({ amount: 100, currency: 'USD' }).success, false);
    assert.equal(moneyInputSchema.safeParse({ amount: -1, currency: 'usd' }).success, false);
  });

  it('property: a sum never loses or invents a unit (checked against BigInt)', () => {
    fc.assert(
      fc.property(currencyArb, fc.array(amountArb, { maxLength: 200 }), (currency, amounts) => {
        const total = sum(
          amounts.map((a) => money(a, currency)),
          currency,
        );
        const exact = amounts.reduce((acc, a) => acc + BigInt(a), 0n);
        assert.equal(BigInt(total.amount), exact);
        assert.ok(Number.isInteger(total.amount));
        assert.equal(total.currency, currency);
      }),
    );
  });

  it('property: sums are order-independent and add/subtract are inverse', () => {
    fc.assert(
      fc.property(currencyArb, fc.array(amountArb, { maxLength: 50 }), amountArb, (currency, amounts, x) => {
        const list = amounts.map((a) => money(a, currency));
        assert.deepEqual(sum(list, currency), sum([...list].reverse(), currency));
        const m = money(x, currency);
        const s = sum(list, currency);
        assert.deepEqual(subtract(add(s, m), m), s);
      }),
    );
  });

  it('property: a line total equals the price added quantity times', () => {
    fc.assert(
      fc.property(
        currencyArb,
        fc.integer({ min: 0, max: 99_999_999 }),
        fc.integer({ min: 0, max: 100 }),
        (currency, price, q) => {
          const unit = money(price, currency);
          assert.deepEqual(multiply(unit, q), sum(Array<typeof unit>(q).fill(unit), currency));
        },
      ),
    );
  });

  it('property: the decimal string round-trips to the same minor units', () => {
    fc.assert(
      fc.property(currencyArb, fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), (c, a) => {
        const text = toDecimalString(money(a, c));
        assert.equal(BigInt(text.replace('.', '')), BigInt(a));
        const decimals = text.includes('.') ? (text.split('.')[1] ?? '').length : 0;
        assert.equal(decimals, exponentOf(c));
      }),
    );
  });
});

describe('formatMoney with its formatters kept', () => {
  it('formats each currency with its own decimals, whatever was formatted before', () => {
    const seen = [
      formatMoney({ amount: 1999, currency: 'usd' }),
      formatMoney({ amount: 1999, currency: 'jpy' }),
      formatMoney({ amount: 1999, currency: 'kwd' }),
      formatMoney({ amount: 5, currency: 'usd' }),
      formatMoney({ amount: 1999, currency: 'jpy' }),
    ];
    assert.deepEqual(seen, ['$19.99', '¥1,999', 'KWD\u00a01.999', '$0.05', '¥1,999']);
  });
});
