import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { sql } from 'kysely';
import type { z } from 'zod';
import type { RegisteredRoute } from '../src/http/routes.ts';
import type { TestApp } from './helpers.ts';

/**
 * The pieces of the hostile-input fuzzer (test/fuzz.test.ts): what it sends, and how it checks that nothing
 * happened. Every generated request carries at least one *poison* — a part the route must refuse whatever
 * the rest says — so the only correct answers are 4xx problem documents and no state may change.
 */

// --- the seed: printed, and taken from FUZZ_SEED to reproduce ---

export const FUZZ_SEED = process.env.FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED);
/** Requests per route (each with a random role), messages per socket property, deliveries per webhook property. */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 25);

export function fuzzOptions(numRuns = FUZZ_RUNS): fc.Parameters<unknown> {
  return { seed: FUZZ_SEED, numRuns, endOnFailure: false, interruptAfterTimeLimit: 90_000 };
}

// --- the documented error codes: a `code` is stable when docs/api.md lists it, with that status ---

export function documentedCodes(): Map<string, Set<number>> {
  const text = readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8');
  const codes = new Map<string, Set<number>>();
  for (const m of text.matchAll(/^\| (\d{3})\s+\| `([a-z_]+)`/gm)) {
    const set = codes.get(m[2]!) ?? new Set<number>();
    set.add(Number(m[1]));
    codes.set(m[2]!, set);
  }
  return codes;
}

// --- strings ---

const lone = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const control = fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c));
const pieces = fc.oneof(
  fc.constantFrom(
    '\u0000',
    '\u007f',
    '\u202e',
    '\ufeff',
    '\uffff',
    '🙂',
    'é',
    '../',
    '..\\',
    '"',
    "'",
    '<script>',
    '${x}',
    '{{x}}',
    '\r\n',
    '__proto__',
    'constructor',
    'null',
    'NaN',
    '-0',
    '1e309',
    'ord_',
    'usr_',
    '%',
    '%00',
  ),
  lone,
  control,
  fc.string({ maxLength: 8 }),
);

/** Any string a client might send, hostile ones weighted up: control characters, lone surrogates, NUL, … */
export const anyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.array(pieces, { maxLength: 5 }).map((p) => p.join('')) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 5000 }).map((n) => 'a'.repeat(n)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
);

/** A string every schema refuses: it holds NUL or a lone surrogate. */
export const poisonString: fc.Arbitrary<string> = fc
  .tuple(anyString, fc.oneof(fc.constant('\u0000'), lone), anyString)
  .map(([a, b, c]) => a + b + c);

// --- JSON text, built by hand so numbers can be what JSON.stringify never writes ---

const rawNumber = fc.oneof(
  fc.constantFrom('1e999', '-1e999', '1e-999', '123456789012345678901234567890', '-0', '0', '1', '-1', '100', '101'),
  fc.constantFrom('9007199254740993', '1.5', '0.1', '99999999', '100000000', '1000000001', '2147483648'),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
);
const quoted = (s: string) => JSON.stringify(s);
const jsonLeaf = fc.oneof(rawNumber, anyString.map(quoted), fc.constantFrom('true', 'false', 'null'));

export function objectText(entries: [string, string][]): string {
  return `{${entries.map(([k, v]) => `${quoted(k)}:${v}`).join(',')}}`;
}

const deepText = fc
  .tuple(fc.integer({ min: 33, max: 5000 }), fc.boolean())
  .map(([n, arrays]) => (arrays ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '1' + '}'.repeat(n)));

export const jsonValue: fc.Arbitrary<string> = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, jsonLeaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }).map((xs) => `[${xs.join(',')}]`),
  object: fc
    .array(fc.tuple(fc.oneof(anyString, fc.constantFrom('items', 'email', 'amount', 'price')), tie('value')), {
      maxLength: 4,
    })
    .map(objectText),
})).value;

/** A JSON text that is never a valid body for a route whose known keys are `keys`. */
export function poisonBody(keys: string[]): fc.Arbitrary<string> {
  const known =
    keys.length === 0
      ? fc.constant<[string, string][]>([])
      : fc.array(fc.tuple(fc.constantFrom(...keys), jsonValue), { maxLength: keys.length });
  const poisonEntry = fc.oneof(
    // A field no schema has: strict schemas refuse it.
    fc
      .tuple(fc.oneof(anyString, fc.constantFrom('__proto__', 'role', 'status', 'userId', 'total')), jsonValue)
      .filter(([k]) => !keys.includes(k)),
    // A known field with a NUL or a lone surrogate somewhere inside, or nested too deep.
    ...(keys.length === 0
      ? []
      : [
          fc.tuple(fc.constantFrom(...keys), poisonString.map(quoted)),
          fc.tuple(fc.constantFrom(...keys), deepText),
          fc.tuple(
            fc.constantFrom(...keys),
            poisonString.map((s) => `[${quoted(s)}]`),
          ),
        ]),
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(known, poisonEntry).map(([k, p]) => objectText([...k, p])) },
    // Not an object at all, not JSON, or too deep.
    {
      weight: 1,
      arbitrary: fc.oneof(
        jsonLeaf,
        jsonValue.filter((v) => !v.startsWith('{')),
      ),
    },
    { weight: 1, arbitrary: deepText },
    { weight: 1, arbitrary: fc.constantFrom('{', '{"a":', '{"a":1,}', "{'a':1}", 'NaN', '[1,]', '\u0000', '{"a":1}{') },
  );
}

// --- query strings and path segments, raw (percent-escapes included) ---

/** Raw (already percent-encoded, possibly wrongly) text for a URL. */
export const rawUrlText: fc.Arbitrary<string> = fc.oneof(
  anyString.map((s) => encodeURIComponent(s.isWellFormed() ? s : s.toWellFormed())),
  fc.constantFrom('%', '%0', '%zz', '%00', '%E0%A4%A', '%C0%AF', '%F0%80%80%AF', '%ED%A0%80', '%FF', '%2F..%2F', '%25'),
  fc.constantFrom('1e999', '-1', '0', 'NaN', 'Infinity', '0x10', '', 'true', 'false', '101', 'CREATED', 'pending'),
  fc.integer({ min: 600, max: 3000 }).map((n) => 'x'.repeat(n)),
);

/** A raw query string that the route must refuse: an unknown key, a key given twice, or a NUL. */
export function poisonQuery(keys: string[]): fc.Arbitrary<string> {
  const pair = (k: fc.Arbitrary<string>) => fc.tuple(k, rawUrlText).map(([a, b]) => `${a}=${b}`);
  const knownKey = keys.length === 0 ? fc.constant('probe') : fc.constantFrom(...keys);
  const noise = fc.array(pair(knownKey), { maxLength: 3 });
  const poison = fc.oneof(
    pair(
      fc
        .constantFrom('probe', 'role', 'userId_', '__proto__', 'limit[]', 'a%00b', 'x')
        .filter((k) => !keys.includes(k)),
    ),
    fc.tuple(knownKey, rawUrlText, rawUrlText).map(([k, a, b]) => `${k}=${a}&${k}=${b}`),
    fc.tuple(knownKey, rawUrlText).map(([k, v]) => `${k}=${v}%00`),
  );
  return fc.tuple(noise, poison, fc.nat()).map(([n, p, at]) => {
    const all = [...n];
    all.splice(at % (n.length + 1), 0, p);
    return all.join('&');
  });
}

// --- the routes' known keys, read from their schemas ---

export function keysOf(schema: z.ZodType | undefined): string[] {
  let s: unknown = schema;
  for (let i = 0; i < 5 && s !== undefined; i += 1) {
    const shape = (s as { shape?: Record<string, unknown> }).shape;
    if (shape !== undefined && typeof shape === 'object') return Object.keys(shape);
    const def = (s as { _zod?: { def?: { in?: unknown; innerType?: unknown; schema?: unknown } } })._zod?.def;
    s = def?.in ?? def?.innerType ?? def?.schema;
  }
  return [];
}

export function fillPath(route: RegisteredRoute, value: string): string {
  return route.path.replace(/:[A-Za-z]+/g, value);
}

// --- state: nothing may change ---

/** Tables whose rows are the shop's state. idempotency_keys is left out: a refused request's 4xx is kept there on purpose (docs/api.md § Idempotency). */
export const STATE_TABLES = [
  'users',
  'refresh_tokens',
  'products',
  'product_images',
  'orders',
  'order_items',
  'order_events',
  'payments',
  'refunds',
  'webhook_inbox',
  'outbox',
  'user_event_counters',
  'job_state',
] as const;

/** A digest of every state table's rows, and the numbers the issue names (row counts, stock, balances). */
export async function snapshot(app: TestApp): Promise<Record<string, string>> {
  const parts = STATE_TABLES.map(
    (t) =>
      sql`(select count(*)::text || ':' || coalesce(md5(string_agg(r::text, '|' order by r::text)), '') from ${sql.table(t)} r) as ${sql.ref(t)}`,
  );
  const { rows } = await sql<Record<string, string>>`
    select ${sql.join(parts)},
      (select coalesce(sum(stock), 0)::text from products) as stock,
      (select coalesce(sum(refunded_amount), 0)::text from orders) as refunded,
      (select coalesce(sum(amount), 0)::text from refunds) as refunds_total
  `.execute(app.database.db);
  return rows[0]!;
}

export function changedParts(before: Record<string, string>, after: Record<string, string>): string[] {
  return Object.keys(before).filter((k) => before[k] !== after[k]);
}

// --- Stripe signatures ---

export function stripeSignature(payload: string | Buffer, secret: string, timestamp: number): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(payload).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}
