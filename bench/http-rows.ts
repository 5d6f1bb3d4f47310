import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { closedLoop, printRow, type BenchContext } from './context.ts';
import { formatPaired, pairedRatio } from './format.ts';
import type { LoadResult } from './load.ts';

const CONNECTIONS = 64;

/** The HTTP ceiling's process (bench/bare-express.ts), answering `body` at /api/v1`path`. */
async function startBare(variant: 'layout' | 'route', path: string, body: string) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./bare-express.ts', import.meta.url))], {
    env: { ...process.env, BARE_VARIANT: variant, BARE_PATH: path, BARE_BODY: body },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  const port = /listening (\d+)/.exec(chunk.toString())?.[1];
  if (port === undefined) throw new Error(`bare express: ${chunk.toString()}`);
  return {
    pid: child.pid!,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/**
 * Catalog reads and /healthz at 64 connections, beside the HTTP ceiling: a bare Express 5 app answering the same
 * product JSON (`layout`: JSON parser and a router under /api/v1, as Fulcrum mounts its routes; `route`: nothing but
 * the route), in a process of its own. `route` is measured once; then, `rounds` times, `layout` and right after it
 * the three rows, each row's ratio taken to that round's ceiling, and each row's median ratio printed at the end:
 * the machine's speed drifts between minutes here (the ceiling moved by half between runs), and a round's two figures
 * drift together.
 */
export async function benchHttp(ctx: BenchContext, rounds: number): Promise<void> {
  const productId = ctx.products[0]!;
  const body = await (await fetch(`${ctx.base}/api/v1/products/${productId}`)).text();
  const path = `/products/${productId}`;
  console.log(
    `\nHTTP: ${CONNECTIONS} connections, ${ctx.seconds} s per row (after ${ctx.warmSeconds} s of warm-up), ` +
      `${rounds} round${rounds === 1 ? '' : 's'} of the ceiling and the rows`,
  );
  const ceiling = async (variant: 'route' | 'layout'): Promise<LoadResult> => {
    const bare = await startBare(variant, path, body);
    try {
      const { result, busy } = await closedLoop(
        ctx,
        { url: bare.url, connections: CONNECTIONS, request: { type: 'get', paths: [`/api/v1${path}`] } },
        bare.pid,
      );
      const label = variant === 'route' ? 'bare Express 5, the route alone' : 'bare Express 5, JSON parser + router';
      printRow(label, result, { ...busy });
      return result;
    } finally {
      await bare.stop();
    }
  };
  await ceiling('route');
  const rows: [string, string[]][] = [
    ['GET /healthz', ['/healthz']],
    ['GET /api/v1/products/:id (50 products)', ctx.products.map((id) => `/api/v1/products/${id}`)],
    ['GET /api/v1/products (the list)', ['/api/v1/products']],
  ];
  const pairs = new Map<string, { rps: number; ceiling: number }[]>(rows.map(([label]) => [label, []]));
  for (let round = 0; round < rounds; round += 1) {
    const layout = { ...(await ceiling('layout')), label: 'bare Express' };
    for (const [label, paths] of rows) {
      const { result, busy } = await closedLoop(ctx, {
        url: ctx.base,
        connections: CONNECTIONS,
        request: { type: 'get', paths },
      });
      printRow(label, result, busy, layout);
      pairs.get(label)!.push({ rps: result.rps, ceiling: layout.rps });
      // The profile's window: the last round's.
      ctx.windows.set(label, [result.startedAt, result.endedAt]);
    }
  }
  for (const [label] of rows) console.log(formatPaired(label, 'bare Express', pairedRatio(pairs.get(label)!)));
}
