// A Stripe-compatible, stateful sandbox (docs/sandbox.md).
// Standalone: imports nothing from the rest of Fulcrum.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleApi } from './api.ts';
import type { HttpAnswer } from './api.ts';
import { scheduleExpiry } from './checkout.ts';
import { handleControl } from './controls.ts';
import type { Core } from './core.ts';
import { noFaults } from './faults.ts';
import { handlePage } from './page.ts';
import { scheduleAsyncSettlement } from './payments.ts';
import { createPersistence, loadSnapshot, type Persistence } from './persistence.ts';
import { scheduleRefundFailure } from './refunds.ts';
import { createScheduler } from './scheduler.ts';
import { emptyState, fromSnapshot, toSnapshot } from './state.ts';
import { decodeSegment } from './util.ts';
import { createWebhooks, type WebhookConfig } from './webhooks.ts';
import { assertUrl, checkOptions, defaultRetryDelaysMs, type Sandbox, type SandboxOptions } from './options.ts';

export { defaultRetryDelaysMs, type Sandbox, type SandboxOptions } from './options.ts';
export { embeddedSandboxOptions, type EmbeddedSandboxSettings } from './embedded.ts';

const maxBodyBytes = 1024 * 1024;

function readBody(req: http.IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > maxBodyBytes ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  checkOptions(opts);
  const host = opts.host ?? '127.0.0.1';
  const now = opts.now ?? Date.now;
  const defaultRandom = opts.random ?? Math.random;
  const snapshot = opts.dataFile === undefined ? null : loadSnapshot(opts.dataFile);
  const state = snapshot === null ? emptyState() : fromSnapshot(snapshot);
  let baseUrl = '';

  const persistence = createPersistence(opts.dataFile ?? null, () => toSnapshot(state, webhooks.config.secret));
  const core: Core = {
    state,
    now,
    publicUrl: () => baseUrl,
    scheduler: createScheduler(now, opts.sweepIntervalMs ?? 1000),
    faults: noFaults(),
    random: defaultRandom,
    asyncPaymentDelayMs: opts.asyncPaymentDelayMs ?? 2000,
    onEvent: (record) => webhooks.onEvent(record),
    changed: () => persistence.markDirty(),
    durable: () => persistence.durable(),
  };
  const webhooks = createWebhooks(core, webhookConfig(opts, snapshot?.webhookSecret));

  async function route(req: http.IncomingMessage): Promise<HttpAnswer> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const body = await readBody(req);
    if (body === null) return { status: 413, headers: { 'Content-Type': 'text/plain' }, body: 'Payload too large\n' };
    const path = url.pathname;
    if (path.startsWith('/v1/')) return handleApi(core, method, path, url.search.slice(1), req.headers, body);
    const page = /^\/checkout\/([^/]+)$/.exec(path);
    if (page !== null) return handlePage(core, method, decodeSegment(page[1] ?? ''), body);
    if (path.startsWith('/_sandbox/')) {
      return handleControl(core, webhooks, defaultRandom, method, path, url.searchParams, body);
    }
    return { status: 404, headers: { 'Content-Type': 'text/plain' }, body: 'Not found\n' };
  }

  const server = serveDurably(route, persistence);
  const port = await listen(server, opts.port ?? 12111, host);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;
  baseUrl = (opts.publicUrl ?? url).replace(/\/+$/, '');

  resumeRestored(core, baseUrl);
  webhooks.resume();

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    get webhookSecret() {
      return webhooks.config.secret;
    },
    setWebhookEndpoint(endpoint, secret) {
      assertUrl(endpoint, 'webhook endpoint');
      webhooks.config.url = endpoint;
      if (secret !== undefined && secret !== '') webhooks.config.secret = secret;
      webhooks.resume();
      core.changed();
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        core.scheduler.close();
        webhooks.close();
        server.close(() => {
          persistence.flush(true);
          resolve();
        });
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** Listens on `port` (0: any free one) and answers with the port it got. */
async function listen(server: http.Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Restored state: its timers again, and its open sessions' links on the current address. */
function resumeRestored(core: Core, baseUrl: string): void {
  const { state } = core;
  for (const record of state.sessions.values()) {
    if (record.session.status === 'open') record.session.url = `${baseUrl}/checkout/${record.session.id}`;
    scheduleExpiry(core, record);
  }
  for (const record of state.intents.values()) scheduleAsyncSettlement(core, record);
  for (const record of state.refunds.values()) scheduleRefundFailure(core, record);
}

/** The HTTP server: nothing is acknowledged before it is in the data file, so a killed sandbox never forgets what it answered. */
function serveDurably(
  route: (req: http.IncomingMessage) => Promise<HttpAnswer>,
  persistence: Persistence,
): http.Server {
  return http.createServer((req, res) => {
    route(req)
      .then(async (answer) => {
        await persistence.durable();
        return answer;
      })
      .catch((err: unknown): HttpAnswer => {
        console.error('sandbox: request failed', err);
        const error = { type: 'api_error', message: 'An unknown error occurred' };
        return { status: 500, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ error }) };
      })
      .then((answer) => {
        if (res.destroyed) return;
        res.writeHead(answer.status, answer.headers);
        res.end(req.method === 'HEAD' ? undefined : answer.body);
      })
      .catch(() => res.destroy());
  });
}

/** Where and how webhooks go; a secret the data file kept is kept (clients configured with it go on working). */
function webhookConfig(opts: SandboxOptions, keptSecret: string | undefined): WebhookConfig {
  return {
    url: opts.webhookUrl ?? null,
    holdUntilEndpoint: opts.holdWebhooksUntilEndpoint ?? false,
    secret: opts.webhookSecret ?? keptSecret ?? `whsec_${randomBytes(24).toString('base64')}`,
    retryDelaysMs: opts.retryDelaysMs ?? defaultRetryDelaysMs,
    timeoutMs: opts.webhookTimeoutMs ?? 10_000,
  };
}
