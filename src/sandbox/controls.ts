// Test controls under /_sandbox: not Stripe's API. JSON in, JSON out, no authentication.
import type { HttpAnswer } from './api.ts';
import type { Core } from './core.ts';
import { ApiError } from './errors.ts';
import { noFaults, parseFaults } from './faults.ts';
import { payWithCard } from './payments.ts';
import type { PayOutcome } from './payments.ts';
import { decodeSegment, seededRandom } from './util.ts';
import type { Webhooks } from './webhooks.ts';

function json(status: number, value: unknown): HttpAnswer {
  return {
    status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
    body: JSON.stringify(value, null, 2),
  };
}

function parseBody(body: string): unknown {
  if (body.trim() === '') return {};
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

const payStatus: Record<PayOutcome, number> = {
  paid: 200,
  processing: 200,
  declined: 402,
  invalid_card: 400,
  not_open: 409,
};

export async function handleControl(
  core: Core,
  webhooks: Webhooks,
  defaultRandom: () => number,
  method: string,
  path: string,
  query: URLSearchParams,
  body: string,
): Promise<HttpAnswer> {
  const pay = /^\/_sandbox\/checkout\/sessions\/([^/]+)\/pay$/.exec(path);
  if (pay !== null && method === 'POST') {
    const input = parseBody(body);
    if (input === undefined || input === null || typeof input !== 'object') {
      return json(400, { error: { message: 'body must be a JSON object' } });
    }
    const card = (input as { card?: unknown }).card ?? '4242424242424242';
    if (typeof card !== 'string') return json(400, { error: { message: 'card must be a string' } });
    try {
      const result = payWithCard(core, decodeSegment(pay[1] ?? ''), card);
      return json(payStatus[result.outcome], {
        outcome: result.outcome,
        redirectUrl: result.redirectUrl,
        error: result.error,
        session: result.session,
        payment_intent: result.paymentIntent,
      });
    } catch (err) {
      if (err instanceof ApiError) return json(err.status, err.toJSON());
      throw err;
    }
  }
  if (path === '/_sandbox/faults') {
    if (method === 'GET') return json(200, core.faults);
    if (method === 'DELETE') {
      core.faults = noFaults();
      core.random = defaultRandom;
      return json(200, core.faults);
    }
    if (method === 'POST') {
      const parsed = parseFaults(parseBody(body));
      if (typeof parsed === 'string') return json(400, { error: { message: parsed } });
      const { seed, ...faults } = parsed;
      core.faults = faults;
      core.random = seed === null ? defaultRandom : seededRandom(seed);
      return json(200, core.faults);
    }
  }
  if (path === '/_sandbox/deliveries' && method === 'GET') {
    const eventId = query.get('eventId');
    const type = query.get('type');
    const data = core.state.deliveryLog.filter(
      (d) => (eventId === null || d.eventId === eventId) && (type === null || d.type === type),
    );
    return json(200, { data });
  }
  if (path === '/_sandbox/webhooks/flush' && method === 'POST') {
    return json(200, { flushed: await webhooks.flush() });
  }
  return json(404, { error: { message: `no sandbox control ${method} ${path}` } });
}
