// The database ceiling (forked by bench/run.ts): Fulcrum's order transaction as plain SQL, no HTTP, on a
// database of its own with Fulcrum's schema (its migrations), at a given concurrency, in a process of its own
// (the layout of Fulcrum's: one Node process beside the database). PostgreSQL: a pg.Pool of that size;
// PGlite: one PGlite (in memory, or its files in CEILING_PGLITE_DIR as Fulcrum's default), the callers queueing for
// its one session, its repeated statements sent by name as Fulcrum's are.
import { Kysely } from 'kysely';
import pg from 'pg';
import { openDatabase } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { PGliteDialect } from '../src/db/pglite-dialect.ts';
import { createPGlite, inProcess } from '../src/db/pglite-thread.ts';
import { pgliteQuery } from '../src/db/pglite-statements.ts';
import { statementNames } from '../src/db/prepared.ts';
import { nowMs, summarize } from './lib.ts';

/** One parameterised query and its rows; PostgreSQL's may name a statement to prepare it once per connection. */
type Query = (text: string, values: unknown[], name?: string) => Promise<{ rows: any[] }>;

export interface PlainOrder {
  orderId: string;
  userId: string;
  /** Distinct products, in id order (the order Fulcrum locks them in). */
  productIds: string[];
  quantities: number[];
  idempotencyKey: string;
  fingerprint: string;
  ttlSeconds: number;
}

/**
 * The work of `POST /api/v1/orders` as one SQL statement — keep it equal to the app's
 * (src/modules/orders/orders.place.ts and the idempotency middleware): take the stock of every line
 * (conditional update: enough left and the product active), insert the order with its total, its lines, its
 * `order.created` event, its `order.updated` outbox message and the done idempotency record holding the answer
 * (order, lines and customer). One statement is one transaction: when a line cannot be taken the guard's
 * division by zero aborts it, stock included. The outbox `event_id` comes from one sequence (no per-customer
 * counter: the per-customer serialization issue 11 removes is not part of the ceiling).
 */
export async function placeOrderPlainSql(query: Query, o: PlainOrder): Promise<{ id: string }> {
  const { rows } = await query(
    `with lines as (
       select id, q, n from unnest($3::text[], $4::int[]) with ordinality as l(id, q, n)
     ), taken as (
       update products p set stock = p.stock - l.q, updated_at = now()
       from lines l where p.id = l.id and p.stock >= l.q and p.active
       returning p.id, p.sku, p.name, p.price_amount, p.currency, l.q, l.n
     ), placed as (
       insert into orders (id, user_id, status, currency, total_amount, created_at, updated_at, expires_at)
       select $1, $2, 'CREATED', min(currency), sum(price_amount * q), now(), now(), now() + make_interval(secs => $7)
       from taken having count(*) = cardinality($3::text[]) and count(distinct currency) = 1
       returning id, user_id, status, currency, total_amount, created_at, expires_at
     ), items as (
       insert into order_items (order_id, line_no, product_id, sku, name, quantity, unit_amount, line_total)
       select placed.id, t.n, t.id, t.sku, t.name, t.q, t.price_amount, t.price_amount * t.q from taken t, placed
       returning product_id, sku, name, quantity, unit_amount, line_total, line_no
     ), event as (
       insert into order_events (order_id, seq, type, from_status, to_status, actor, reason, at)
       select id, 1, 'order.created', null, 'CREATED', user_id, null, created_at from placed
     ), message as (
       insert into outbox (user_id, event_id, type, payload)
       select user_id, nextval('bench_event_ids'), 'order.updated',
              jsonb_build_object('orderId', id, 'status', 'CREATED', 'paymentStatus', null, 'at', created_at)
       from placed
     ), answer as (
       select p.id, jsonb_build_object(
         'id', p.id, 'status', p.status, 'currency', p.currency, 'total', p.total_amount,
         'items', (select jsonb_agg(jsonb_build_object('productId', i.product_id, 'sku', i.sku, 'name', i.name,
                     'quantity', i.quantity, 'unitPrice', i.unit_amount, 'lineTotal', i.line_total) order by i.line_no)
                   from items i),
         'customer', (select jsonb_build_object('email', u.email, 'name', u.name) from users u where u.id = p.user_id),
         'createdAt', p.created_at, 'expiresAt', p.expires_at) as body
       from placed p
     ), remembered as (
       insert into idempotency_keys
         (scope, key, method, route, fingerprint, state, response_status, response_body, created_at, updated_at)
       select $2, $5, 'POST', '/api/v1/orders', $6, 'done', 201, body, now(), now() from answer
     )
     select 1 / (select count(*)::int from placed) as placed, (select id from answer) as id`,
    [o.orderId, o.userId, o.productIds, o.quantities, o.idempotencyKey, o.fingerprint, o.ttlSeconds],
    'bench_place_order',
  );
  return { id: rows[0].id as string };
}

export interface CeilingJob {
  concurrency: number;
  /** How many of the seeded products and customers the orders cycle through (1 product: the hot-product row). */
  products: number;
  customers: number;
  lines: number;
  seconds: number;
}

export interface CeilingResult {
  ok: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  cpuShare: number;
  firstError?: string;
}

const SEED = { products: 50, customers: 64 };

async function open(
  url: string | undefined,
  pgliteDir: string | undefined,
): Promise<{ pool(size: number): Query & { end(): Promise<void> } }> {
  if (url === undefined) {
    // PGlite as Fulcrum opens it (its WAL settings and parsers), in this process's main thread.
    const pglite = await createPGlite(pgliteDir);
    await migrateToLatest(new Kysely<any>({ dialect: new PGliteDialect(inProcess(pglite)) }));
    // Named statements, as Fulcrum sends them on PGlite (pglite-statements.ts).
    const named = pgliteQuery(pglite, statementNames());
    const query: Query = (text, values) => named(text, values);
    return { pool: () => Object.assign(query, { end: async () => {} }) };
  }
  const database = await openDatabase({ url, dataDir: '' });
  await migrateToLatest(database.db);
  await database.close();
  return {
    pool(size) {
      const pool = new pg.Pool({ connectionString: url, max: size });
      const query: Query = (text, values, name) =>
        name === undefined ? pool.query(text, values) : pool.query({ name, text, values });
      return Object.assign(query, { end: () => pool.end() });
    },
  };
}

async function seed(query: Query): Promise<void> {
  await query(`create sequence if not exists bench_event_ids`, []);
  await query(
    `insert into users (id, email, name, password_hash)
     select 'usr_ceiling_' || i, 'ceiling-' || i || '@example.com', 'Ceiling ' || i, 'x' from generate_series(1, $1) i
     on conflict do nothing`,
    [SEED.customers],
  );
  await query(
    `insert into products (id, sku, name, price_amount, currency, stock)
     select 'prd_ceiling_' || lpad(i::text, 3, '0'), 'CEIL-' || i, 'Ceiling ' || i, 1000 + i, 'usd', 1000000000
     from generate_series(1, $1) i on conflict do nothing`,
    [SEED.products],
  );
}

async function runCeiling(
  pool: Query & { end(): Promise<void> },
  job: CeilingJob,
  seconds: number,
): Promise<CeilingResult> {
  const productIds = Array.from({ length: job.products }, (_, i) => `prd_ceiling_${String(i + 1).padStart(3, '0')}`);
  let n = 0;
  let errors = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = nowMs();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (nowMs() < end) {
        const i = n++;
        const ids = Array.from({ length: job.lines }, (_, l) => productIds[(i * job.lines + l) % productIds.length]!);
        const products = [...new Set(ids)].sort();
        const started = nowMs();
        try {
          await placeOrderPlainSql(pool, {
            orderId: `ord_ceiling_${process.pid}_${i}_${Math.floor(t0)}`,
            userId: `usr_ceiling_${(i % job.customers) + 1}`,
            productIds: products,
            quantities: products.map(() => 1),
            idempotencyKey: `key-${i}-${Math.floor(t0)}`,
            fingerprint: 'f'.repeat(64),
            ttlSeconds: 1800,
          });
          latencies.push(nowMs() - started);
        } catch (error) {
          errors += 1;
          firstError ??= String(error);
        }
      }
    }),
  );
  const wall = nowMs() - t0;
  const cpu = process.cpuUsage(cpu0);
  const s = latencies.length === 0 ? undefined : summarize(latencies);
  return {
    ok: latencies.length,
    errors,
    rps: latencies.length / (wall / 1000),
    p50: s?.p50 ?? NaN,
    p99: s?.p99 ?? NaN,
    cpuShare: (cpu.user + cpu.system) / 1000 / wall,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

const database = open(process.env.CEILING_DATABASE_URL || undefined, process.env.CEILING_PGLITE_DIR || undefined).then(
  async (db) => {
    const pool = db.pool(1);
    await seed(pool);
    await pool.end();
    return db;
  },
);

process.on('message', (message: { id: number; job: CeilingJob }) => {
  database
    .then(async (db) => {
      const pool = db.pool(message.job.concurrency);
      try {
        await runCeiling(pool, message.job, Math.min(1, message.job.seconds / 4)); // warm-up: connections, plans
        return await runCeiling(pool, message.job, message.job.seconds);
      } finally {
        await pool.end();
      }
    })
    .then(
      (result) => process.send!({ id: message.id, result }),
      (error: unknown) => process.send!({ id: message.id, error: String((error as Error)?.stack ?? error) }),
    );
});
process.on('disconnect', () => process.exit(0));
