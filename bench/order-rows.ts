import { closedLoop, printRow, type BenchContext } from './context.ts';
import type { CeilingJob, CeilingResult, LoadResult, Worker } from './load.ts';

const ceilingLabel = (c: number) => `plain SQL ×${c}`;

/**
 * Order placement over HTTP beside the database ceiling (bench/db-ceiling.ts: the same work as one SQL statement,
 * no HTTP, at the same concurrency): 8 and 64 clients across 64 customers and 50 products, a hot product
 * (64 clients, 1 product), one customer placing 8 orders at once. Returns the 64-client row (the soak's peak).
 */
export async function benchOrders(ctx: BenchContext, ceiling: Worker<CeilingJob, CeilingResult>): Promise<LoadResult> {
  console.log(
    `\nOrders: POST /api/v1/orders, ${ctx.orderLines} line(s) each, a fresh Idempotency-Key per request, ` +
      `${ctx.seconds} s per row; the ceiling: the same transaction as one plain SQL statement, no HTTP`,
  );
  const all = { products: ctx.products.length, customers: ctx.tokens.length, lines: ctx.orderLines };
  const rows: { label: string; connections: number; tokens: string[]; products: string[]; job: CeilingJob }[] = [
    {
      label: 'POST /orders, 8 clients',
      connections: 8,
      tokens: ctx.tokens,
      products: ctx.products,
      job: { ...all, concurrency: 8, seconds: ctx.seconds },
    },
    {
      label: 'POST /orders, 64 clients',
      connections: 64,
      tokens: ctx.tokens,
      products: ctx.products,
      job: { ...all, concurrency: 64, seconds: ctx.seconds },
    },
    {
      label: 'POST /orders, hot product (64 clients)',
      connections: 64,
      tokens: ctx.tokens,
      products: ctx.products.slice(0, 1),
      job: { ...all, products: 1, lines: 1, concurrency: 64, seconds: ctx.seconds },
    },
    {
      label: 'POST /orders, one customer, 8 at once',
      connections: 8,
      tokens: ctx.tokens.slice(0, 1),
      products: ctx.products,
      job: { ...all, customers: 1, concurrency: 8, seconds: ctx.seconds },
    },
  ];
  let peak: LoadResult | undefined;
  for (const row of rows) {
    const c = await ceiling.run(row.job);
    if (c.errors > 0) console.log(`  ⚠ the ceiling had ${c.errors} errors, the first: ${c.firstError}`);
    const lines = row.products.length === 1 ? 1 : ctx.orderLines;
    const { result, busy } = await closedLoop(ctx, {
      url: ctx.base,
      connections: row.connections,
      request: { type: 'order', tokens: row.tokens, products: row.products, lines },
    });
    if (row.connections === 64 && row.products.length > 1) {
      peak = result;
      ctx.windows.set('POST /orders, 64 clients', [result.startedAt, result.endedAt]);
    }
    printRow(row.label, result, busy, { ...c, label: ceilingLabel(row.job.concurrency) });
  }
  return peak!;
}
