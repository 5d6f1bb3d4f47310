import { z } from 'zod';

/**
 * Money is an integer count of the currency's minor units with its ISO 4217 code in lower case,
 * e.g. `{ amount: 1999, currency: 'usd' }` is $19.99 and `{ amount: 1999, currency: 'jpy' }` is ¥1,999.
 * No floats anywhere: arithmetic is on safe integers and fails loudly rather than round.
 */
export interface Money {
  amount: number;
  currency: Currency;
}

/**
 * Currencies with no minor unit (ISO 4217 exponent 0) that Stripe also counts in whole units. One table for
 * Fulcrum and its sandbox. Left out on purpose: ISK, whose ISO exponent is 0 but which Stripe's API counts in
 * hundredths (an amount of 100 is 1 króna), so Fulcrum's amounts would reach Stripe 100 times too small; and
 * IQD and LYD (ISO exponent 3), which Stripe does not take.
 */
const zeroDecimal = [
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
] as const;

/** Currencies with three decimals (exponent 3). */
const threeDecimal = ['bhd', 'jod', 'kwd', 'omr', 'tnd'] as const;

/** Two-decimal currencies accepted by Fulcrum (those Stripe settles, without the 0- and 3-decimal ones). */
const twoDecimal = [
  'aed',
  'ars',
  'aud',
  'bdt',
  'bgn',
  'brl',
  'cad',
  'chf',
  'cny',
  'cop',
  'czk',
  'dkk',
  'egp',
  'eur',
  'gbp',
  'hkd',
  'huf',
  'idr',
  'ils',
  'inr',
  'kes',
  'mad',
  'mxn',
  'myr',
  'ngn',
  'nok',
  'nzd',
  'pen',
  'php',
  'pkr',
  'pln',
  'ron',
  'rsd',
  'sar',
  'sek',
  'sgd',
  'thb',
  'try',
  'twd',
  'uah',
  'usd',
  'zar',
] as const;

export type Currency = (typeof zeroDecimal)[number] | (typeof threeDecimal)[number] | (typeof twoDecimal)[number];

const exponents: ReadonlyMap<string, 0 | 2 | 3> = new Map<string, 0 | 2 | 3>([
  ...zeroDecimal.map((c) => [c, 0] as const),
  ...twoDecimal.map((c) => [c, 2] as const),
  ...threeDecimal.map((c) => [c, 3] as const),
]);

export const currencies: readonly Currency[] = [...zeroDecimal, ...twoDecimal, ...threeDecimal].sort();

export function isCurrency(code: string): code is Currency {
  return exponents.has(code);
}

/** A currency code read back from storage; an unknown one is a bug, not user input. */
export function toCurrency(code: string): Currency {
  if (!isCurrency(code)) throw new RangeError(`unknown currency ${code}`);
  return code;
}

/** Number of decimals of the currency's major unit: jpy 0, usd 2, kwd 3. */
export function exponentOf(currency: Currency): 0 | 2 | 3 {
  const e = exponents.get(currency);
  if (e === undefined) throw new RangeError(`unknown currency ${currency}`);
  return e;
}

function checkAmount(amount: number): number {
  if (!Number.isSafeInteger(amount)) throw new RangeError(`money amount must be a safe integer, got ${amount}`);
  return amount;
}

export function money(amount: number, currency: Currency): Money {
  if (!isCurrency(currency)) throw new RangeError(`unknown currency ${String(currency)}`);
  return { amount: checkAmount(amount), currency };
}

export function zero(currency: Currency): Money {
  return money(0, currency);
}

export function isSameCurrency(a: Money, b: Money): boolean {
  return a.currency === b.currency;
}

/** Throws when the two currencies differ: adding yen to dollars is a bug, not a rounding question. */
export function assertSameCurrency(a: Money, b: Money): void {
  if (!isSameCurrency(a, b)) throw new RangeError(`currency mismatch: ${a.currency} and ${b.currency}`);
}

export function add(a: Money, b: Money): Money {
  assertSameCurrency(a, b);
  return money(a.amount + b.amount, a.currency);
}

export function subtract(a: Money, b: Money): Money {
  assertSameCurrency(a, b);
  return money(a.amount - b.amount, a.currency);
}

/** Price times an integer quantity (a line total). */
export function multiply(m: Money, quantity: number): Money {
  if (!Number.isSafeInteger(quantity)) throw new RangeError(`quantity must be an integer, got ${quantity}`);
  return money(m.amount * quantity, m.currency);
}

/** Sum of amounts in one currency; an empty list sums to zero in `currency`. */
export function sum(items: readonly Money[], currency: Currency): Money {
  let total = zero(currency);
  for (const item of items) total = add(total, item);
  return total;
}

/** The one currency of a non-empty list, or undefined when it mixes currencies. */
export function commonCurrency(items: readonly { currency: Currency }[]): Currency | undefined {
  const first = items[0]?.currency;
  return items.every((i) => i.currency === first) ? first : undefined;
}

/** Exact decimal text of the major unit: 1999 usd → "19.99", -5 kwd → "-0.005", 1999 jpy → "1999". */
export function toDecimalString(m: Money): string {
  const e = exponentOf(m.currency);
  const digits = String(Math.abs(m.amount));
  const sign = m.amount < 0 ? '-' : '';
  if (e === 0) return `${sign}${digits}`;
  const padded = digits.padStart(e + 1, '0');
  return `${sign}${padded.slice(0, -e)}.${padded.slice(-e)}`;
}

const formats = new Map<string, Intl.NumberFormat>();

/** For display only: `formatMoney({ amount: 1999, currency: 'usd' }, 'en-US')` → "$19.99". Intl gets a decimal string, not a float. */
export function formatMoney(m: Money, locale = 'en-US'): string {
  const key = `${locale} ${m.currency}`;
  let format = formats.get(key);
  if (format === undefined) {
    // Building a formatter is the expensive part (3–4 % of an order's CPU time in the bench's profile): one per
    // locale and currency, kept (both come from small fixed sets: the currency table and the mail locale).
    const e = exponentOf(m.currency);
    format = new Intl.NumberFormat(locale, {
      style: 'currency',
      currency: m.currency.toUpperCase(),
      minimumFractionDigits: e,
      maximumFractionDigits: e,
    });
    formats.set(key, format);
  }
  // Intl.NumberFormat v3 formats exact decimal strings; the cast is for lib typings that only list number.
  return format.format(toDecimalString(m) as unknown as number);
}

/** Largest unit price a product may have: Stripe's limit for a single charge in most currencies. */
export const MAX_UNIT_AMOUNT = 99_999_999;

export const currencySchema = z
  .string()
  .refine(isCurrency, 'must be a supported ISO 4217 currency code in lower case, e.g. "usd"');

/** A money object in a request: integer minor units, never a float or a string. */
export const moneyInputSchema = z.strictObject({
  amount: z.number().int('must be an integer number of minor units').min(0).max(MAX_UNIT_AMOUNT),
  currency: currencySchema,
});

/** A money object in a response. */
export const moneySchema = z.object({ amount: z.number().int(), currency: z.string() });
