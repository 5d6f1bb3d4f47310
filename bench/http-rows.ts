import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { closedLoop, printRow, type BenchContext } from './context.ts';
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
 * Catalog reads and /healthz at 64 connections, each beside the HTTP ceiling measured just before: a bare
 * Express 5 app answering the same product JSON (`layout`: JSON parser and a router under /api/v1, as Fulcrum
 * mounts its routes; `route`: nothing but the route), in a process of its own.
 */
export async function benchHttp(ctx: BenchContext): Promise<void> {
  const productId = ctx.products[0]!;
  const body = await (await fetch(`${ctx.base}/api/v1/products/${productId}`)).text();
  const path = `/products/${productId}`;
  console.log(`\nHTTP: ${CONNECTIONS} connections, ${ctx.seconds} s per row (after ${ctx.warmSeconds} s of warm-up)`);
  const ceilings: Record<string, LoadResult> = {};
  for (const variant of ['route', 'layout'] as const) {
    const bare = await startBare(variant, path, body);
    try {
      const { result, busy } = await closedLoop(
        ctx,
        { url: bare.url, connections: CONNECTIONS, request: { type: 'get', paths: [`/api/v1${path}`] } },
        bare.pid,
      );
      ceilings[variant] = result;
      const label = variant === 'route' ? 'bare Express 5, the route alone' : 'bare Express 5, JSON parser + router';
      printRow(label, result, { ...busy });
    } finally {
      await bare.stop();
    }
  }
  const ceiling = { ...ceilings.layout!, label: 'bare Express' };
  const rows: [string, string[]][] = [
    ['GET /healthz', ['/healthz']],
    ['GET /api/v1/products/:id (50 products)', ctx.products.map((id) => `/api/v1/products/${id}`)],
    ['GET /api/v1/products (the list)', ['/api/v1/products']],
  ];
  for (const [label, paths] of rows) {
    const { result, busy } = await closedLoop(ctx, {
      url: ctx.base,
      connections: CONNECTIONS,
      request: { type: 'get', paths },
    });
    printRow(label, result, busy, ceiling);
    ctx.windows.set(label, [result.startedAt, result.endedAt]);
  }
}
