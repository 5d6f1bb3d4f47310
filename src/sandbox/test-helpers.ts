// Shared by the sandbox's tests: a sandbox on port 0, the official SDK pointed at it, and a
// webhook endpoint that verifies every delivery with stripe.webhooks.constructEvent.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { startSandbox } from './index.ts';
import type { Sandbox, SandboxOptions } from './index.ts';

export interface Delivery {
  event: Stripe.Event;
  raw: string;
  headers: http.IncomingHttpHeaders;
}

export interface Receiver {
  url: string;
  /** Verified deliveries, in arrival order. */
  received: Delivery[];
  /** Deliveries whose signature did not verify (answered 400). */
  rejected: string[];
  secret: string;
  /** Chooses the status answered for each verified delivery (default 200). */
  respond: (event: Stripe.Event, nthDeliveryOfEvent: number) => number;
  close(): Promise<void>;
}

const verifier = new Stripe('sk_test_verifier');

export async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    received: [],
    rejected: [],
    secret: '',
    respond: () => 200,
    close: () => Promise.resolve(),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let event: Stripe.Event;
      try {
        event = verifier.webhooks.constructEvent(raw, req.headers['stripe-signature'] ?? '', receiver.secret);
      } catch {
        receiver.rejected.push(raw);
        res.writeHead(400).end();
        return;
      }
      receiver.received.push({ event, raw, headers: req.headers });
      const nth = receiver.received.filter((d) => d.event.id === event.id).length;
      res.writeHead(receiver.respond(event, nth)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/stripe`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return receiver;
}

export function sdkFor(port: number, key = 'sk_test_sandbox', extra: Partial<Stripe.StripeConfig> = {}): Stripe {
  return new Stripe(key, {
    host: '127.0.0.1',
    port,
    protocol: 'http',
    telemetry: false,
    maxNetworkRetries: 0,
    ...extra,
  });
}

export interface Harness {
  sandbox: Sandbox;
  stripe: Stripe;
  receiver: Receiver;
  control(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }>;
  close(): Promise<void>;
}

/** A sandbox with tiny timings, wired to a fresh receiver. */
export async function startHarness(opts: SandboxOptions = {}): Promise<Harness> {
  const receiver = await startReceiver();
  const sandbox = await startSandbox({
    port: 0,
    webhookUrl: receiver.url,
    retryDelaysMs: [20, 40, 80],
    asyncPaymentDelayMs: 30,
    sweepIntervalMs: 50,
    ...opts,
  });
  receiver.secret = sandbox.webhookSecret;
  return {
    sandbox,
    stripe: sdkFor(sandbox.port),
    receiver,
    control: (method, path, body) => control(sandbox, method, path, body),
    async close() {
      await sandbox.close();
      await receiver.close();
    },
  };
}

export async function control(
  sandbox: Sandbox,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

export function sessionParams(
  overrides: Partial<Stripe.Checkout.SessionCreateParams> = {},
): Stripe.Checkout.SessionCreateParams {
  return {
    mode: 'payment',
    line_items: [
      { quantity: 2, price_data: { currency: 'usd', unit_amount: 1250, product_data: { name: 'Tee shirt' } } },
      { quantity: 1, price_data: { currency: 'usd', unit_amount: 500, product_data: { name: 'Socks' } } },
    ],
    success_url: 'http://shop.test/orders/ord_1?session_id={CHECKOUT_SESSION_ID}',
    cancel_url: 'http://shop.test/orders/ord_1',
    client_reference_id: 'ord_1',
    metadata: { order_id: 'ord_1' },
    ...overrides,
  };
}

/** Polls until `check` returns a value other than undefined; the bound only stops a broken test. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  ms = 5000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function typesReceived(receiver: Receiver): string[] {
  return receiver.received.map((d) => d.event.type);
}

/** Pays a session through the test control (what the hosted page's button does). */
export async function pay(
  h: Harness,
  sessionId: string,
  card = '4242424242424242',
): Promise<{ status: number; json: unknown }> {
  return h.control('POST', `/_sandbox/checkout/sessions/${sessionId}/pay`, { card });
}
