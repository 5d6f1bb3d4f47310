import { closedLoop, watched, type BenchContext } from './context.ts';
import { failures, rate } from './format.ts';
import { rssBytes } from './lib.ts';
import type { LoadResult } from './load.ts';

const MB = (bytes: number | undefined) => (bytes === undefined ? '–' : `${(bytes / 1024 / 1024).toFixed(0)} MB`);

/**
 * `npm run bench -- --soak`: Fulcrum's resident memory before and after `seconds` of orders at `askedRate` a second or,
 * without it, half the peak order rate (64 clients, measured here unless given), sampled after every chunk of at
 * most 5 minutes (the customers log in again between chunks: access tokens last 15 minutes).
 */
export async function benchSoak(
  ctx: BenchContext,
  seconds: number,
  askedRate?: number,
  peak?: LoadResult,
): Promise<void> {
  let target: number;
  if (askedRate !== undefined) {
    target = askedRate;
    console.log(`\nSoak: orders at ${rate(target)} (BENCH_SOAK_RATE, 64 clients) for ${seconds} s`);
  } else {
    const measuredPeak =
      peak ??
      (
        await closedLoop(ctx, {
          url: ctx.base,
          connections: 64,
          request: { type: 'order', tokens: ctx.tokens, products: ctx.products, lines: ctx.orderLines },
        })
      ).result;
    target = Math.max(1, Math.floor(measuredPeak.rps / 2));
    console.log(
      `\nSoak: orders at ${rate(target)} (half the peak of ${rate(measuredPeak.rps)}, 64 clients) for ${seconds} s`,
    );
  }
  const before = rssBytes(ctx.fulcrumPid);
  console.log(`  RSS before: ${MB(before)}`);
  let left = seconds;
  let placed = 0;
  let non2xx = 0;
  let errors = 0;
  let elapsed = 0;
  while (left > 0) {
    const chunk = Math.min(left, 300);
    await ctx.relogin();
    const { value: r, busy } = await watched(ctx.fulcrumPid, () =>
      ctx.load.run({
        kind: 'cannon',
        url: ctx.base,
        connections: 64,
        duration: chunk,
        overallRate: target,
        request: { type: 'order', tokens: ctx.tokens, products: ctx.products, lines: ctx.orderLines },
      }),
    );
    left -= chunk;
    elapsed += chunk;
    placed += r.ok;
    non2xx += r.non2xx;
    errors += r.errors;
    console.log(
      `  after ${elapsed} s: RSS ${MB(rssBytes(ctx.fulcrumPid))}, ${rate(r.rps)} placed, p99 ${r.p99} ms, ` +
        `fulcrum CPU ${((busy.fulcrum ?? NaN) * 100).toFixed(0)} %${failures(r)}`,
    );
  }
  const after = rssBytes(ctx.fulcrumPid);
  console.log(
    `  RSS before ${MB(before)}, after ${MB(after)} (${after !== undefined && before !== undefined ? `${after >= before ? '+' : ''}${MB(after - before)}` : '–'}); ` +
      `${placed} orders placed${failures({ rps: placed, p50: 0, p99: 0, non2xx, errors })}`,
  );
}
