// @ts-check
// The currencies the API accepts and the decimals of each (src/shared/money.ts; a test keeps the two equal):
// prices are typed in the currency's units (12.50 dollars, 1500 yen, 1.250 dinars) and sent in minor units.

/** @type {Readonly<Record<string, 0 | 2 | 3>>} */
export const CURRENCIES = Object.freeze({
  aed: 2,
  ars: 2,
  aud: 2,
  bdt: 2,
  bgn: 2,
  bhd: 3,
  bif: 0,
  brl: 2,
  cad: 2,
  chf: 2,
  clp: 0,
  cny: 2,
  cop: 2,
  czk: 2,
  djf: 0,
  dkk: 2,
  egp: 2,
  eur: 2,
  gbp: 2,
  gnf: 0,
  hkd: 2,
  huf: 2,
  idr: 2,
  ils: 2,
  inr: 2,
  jod: 3,
  jpy: 0,
  kes: 2,
  kmf: 0,
  krw: 0,
  kwd: 3,
  mad: 2,
  mga: 0,
  mxn: 2,
  myr: 2,
  ngn: 2,
  nok: 2,
  nzd: 2,
  omr: 3,
  pen: 2,
  php: 2,
  pkr: 2,
  pln: 2,
  pyg: 0,
  ron: 2,
  rsd: 2,
  rwf: 0,
  sar: 2,
  sek: 2,
  sgd: 2,
  thb: 2,
  tnd: 3,
  try: 2,
  twd: 2,
  uah: 2,
  ugx: 0,
  usd: 2,
  vnd: 0,
  vuv: 0,
  xaf: 0,
  xof: 0,
  xpf: 0,
  zar: 2,
});

/** @param {string} currency @returns {0 | 2 | 3} */
export const exponentOf = (currency) => CURRENCIES[currency] ?? 2;

/** "usd" → "USD — US Dollar" (the browser's names; the code alone where it has none). @param {string} currency */
export function currencyLabel(currency) {
  const code = currency.toUpperCase();
  try {
    const name = new Intl.DisplayNames(['en'], { type: 'currency' }).of(code);
    return name && name !== code ? `${code} — ${name}` : code;
  } catch {
    return code;
  }
}

/**
 * "12.50" → 1250 in usd, "1500" → 1500 in jpy; null when the text is not an amount in that currency's units
 * (more decimals than it has, a sign, letters, over 99,999,999 minor units — the API's limit).
 * @param {string} text @param {string} currency @returns {number | null}
 */
export function toMinorUnits(text, currency) {
  const digits = exponentOf(currency);
  const match = /^(\d{1,9})(?:[.,](\d*))?$/.exec(text.trim().replace(/[\s_']/g, ''));
  if (!match || (match[2] ?? '').length > digits) return null;
  const minor = Number(match[1]) * 10 ** digits + Number((match[2] ?? '').padEnd(digits, '0') || '0');
  return minor <= 99_999_999 ? minor : null;
}

/** 1250 usd → "12.50", 1500 jpy → "1500": what the price field shows. @param {number} amount @param {string} currency */
export function toUnitsText(amount, currency) {
  const digits = exponentOf(currency);
  if (digits === 0) return String(amount);
  const padded = String(amount).padStart(digits + 1, '0');
  return `${padded.slice(0, -digits)}.${padded.slice(-digits)}`;
}
