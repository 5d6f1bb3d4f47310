import type { IncomingHttpHeaders } from 'node:http';
import qs from 'qs';
import { createSession, expireSession, findSession } from './checkout.ts';
import type { Core, RequestInfo } from './core.ts';
import { ApiError, resourceMissing } from './errors.ts';
import { listEvents, retrieveEvent } from './events.ts';
import { applyExpand, checkExpand, lineItemList } from './expand.ts';
import { abandonIdempotent, beginIdempotent, finishIdempotent } from './idempotency.ts';
import { expandParam, optionalInteger, optionalString, rejectUnknown } from './params.ts';
import type { Params } from './params.ts';
import { findIntent } from './payments.ts';
import { createRefund, findRefund } from './refunds.ts';
import { API_VERSION } from './types.ts';
import { decodeSegment, randomId, sleep } from './util.ts';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

interface Context {
  params: Params;
  request: RequestInfo;
  id: string;
}

type Handler = (core: Core, ctx: Context) => unknown;

function retrieve(objectType: string, load: (core: Core, id: string) => object): Handler {
  return (core, { params, id }) => {
    rejectUnknown(params, ['expand']);
    const expand = expandParam(params);
    checkExpand(objectType, expand);
    return applyExpand(core, load(core, id), expand);
  };
}

function listLineItems(core: Core, { params, id }: Context): unknown {
  rejectUnknown(params, ['limit', 'starting_after', 'ending_before', 'expand']);
  const limit = optionalInteger(params.limit, 'limit', 1, 100) ?? 10;
  const after = optionalString(params.starting_after, 'starting_after');
  const items = findSession(core, id).lineItems;
  const start = after === undefined ? 0 : items.findIndex((li) => li.id === after) + 1;
  if (after !== undefined && start === 0) throw resourceMissing('item', after, 'starting_after', 400);
  const page = lineItemList(id, items.slice(start, start + limit));
  return { ...page, has_more: start + limit < items.length };
}

const routes: { method: string; pattern: RegExp; handler: Handler }[] = [
  {
    method: 'POST',
    pattern: /^\/v1\/checkout\/sessions$/,
    handler: (core, { params }) => applyExpand(core, createSession(core, params).session, expandParam(params)),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/checkout\/sessions\/([^/]+)$/,
    handler: retrieve('checkout.session', (core, id) => findSession(core, id).session),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/,
    handler: (core, { params, id, request }) =>
      applyExpand(core, expireSession(core, id, params, request).session, expandParam(params)),
  },
  { method: 'GET', pattern: /^\/v1\/checkout\/sessions\/([^/]+)\/line_items$/, handler: listLineItems },
  {
    method: 'GET',
    pattern: /^\/v1\/payment_intents\/([^/]+)$/,
    handler: retrieve('payment_intent', (core, id) => findIntent(core, id).intent),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/refunds$/,
    handler: (core, { params, request }) =>
      applyExpand(core, createRefund(core, params, request).refund, expandParam(params)),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/refunds\/([^/]+)$/,
    handler: retrieve('refund', (core, id) => findRefund(core, id).refund),
  },
  { method: 'GET', pattern: /^\/v1\/events$/, handler: (core, { params }) => listEvents(core, params) },
  {
    method: 'GET',
    pattern: /^\/v1\/events\/([^/]+)$/,
    handler: (core, { params, id }) => retrieveEvent(core, id, params),
  },
];

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function authenticate(headers: IncomingHttpHeaders): ApiError | null {
  const auth = header(headers, 'authorization') ?? '';
  let key = '';
  if (/^bearer /i.test(auth)) key = auth.slice(7).trim();
  else if (/^basic /i.test(auth))
    key = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8').split(':')[0] ?? '';
  if (key === '') {
    return new ApiError({
      status: 401,
      type: 'invalid_request_error',
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    });
  }
  if (key.startsWith('sk_test_')) return null;
  const redacted = key.length > 12 ? `${key.slice(0, 8)}${'*'.repeat(key.length - 12)}${key.slice(-4)}` : key;
  return new ApiError({
    status: 401,
    type: 'invalid_request_error',
    code: 'api_key_invalid',
    message: `Invalid API Key provided: ${redacted}`,
  });
}

/** One `/v1` call, end to end: auth, fault injection, idempotency, the work, latency. */
export async function handleApi(
  core: Core,
  method: string,
  path: string,
  query: string,
  headers: IncomingHttpHeaders,
  body: string,
): Promise<HttpAnswer> {
  const requestId = randomId('req', 14);
  const idempotencyKey = method === 'POST' ? header(headers, 'idempotency-key') : undefined;
  const base: Record<string, string> = {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, no-store',
    'request-id': requestId,
    'Stripe-Version': header(headers, 'stripe-version') ?? API_VERSION,
  };
  if (idempotencyKey !== undefined) base['Idempotency-Key'] = idempotencyKey;
  const latency = core.faults.apiLatencyMs;
  const answer = async (status: number, json: string, extra: Record<string, string> = {}): Promise<HttpAnswer> => {
    if (latency > 0) await sleep(latency);
    return { status, headers: { ...base, ...extra }, body: json };
  };
  const fail = (err: ApiError) => answer(err.status, JSON.stringify(err.toJSON(), null, 2), err.headers);

  const authError = authenticate(headers);
  if (authError !== null) return fail(authError);
  if (core.faults.apiErrorRate > 0 && core.random() < core.faults.apiErrorRate) {
    return fail(new ApiError({ status: 500, type: 'api_error', message: 'An unknown error occurred' }));
  }
  const route = findRoute(method, path);
  if (route instanceof ApiError) return fail(route);
  const params = qs.parse(method === 'GET' || method === 'DELETE' ? query : body, {
    depth: 10,
    arrayLimit: 1000,
    // qs stops at 1000 parameters by default: 100 line items can carry more.
    parameterLimit: 20_000,
  });
  const check = beginIdempotent(core, idempotencyKey, method, path, params, requestId);
  if (check.kind === 'error') return fail(check.error);
  if (check.kind === 'replay') {
    const { record } = check;
    return answer(record.status, record.body, {
      'request-id': record.requestId,
      'Idempotent-Replayed': 'true',
      'Original-Request': record.requestId,
    });
  }
  const request: RequestInfo = { id: requestId, idempotency_key: idempotencyKey ?? null };
  const outcome = run(core, route, { params, request, id: route.id });
  if (outcome instanceof ApiError) {
    abandonIdempotent(core, check.record);
    return fail(outcome);
  }
  const { status, json } = outcome;
  // The key stays in flight during the injected latency, as it would while Stripe is slow.
  if (latency > 0) await sleep(latency);
  finishIdempotent(core, check.record, status, json);
  return { status, headers: base, body: json };
}

function findRoute(method: string, path: string): { handler: Handler; id: string } | ApiError {
  for (const r of routes) {
    const m = r.method === method ? r.pattern.exec(path) : null;
    if (m !== null) return { handler: r.handler, id: decodeSegment(m[1] ?? '') };
  }
  return new ApiError({
    status: 404,
    type: 'invalid_request_error',
    message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
  });
}

/**
 * The work itself: its answer, or the error it ended with. A validation error (or a crash) is returned as an
 * ApiError: nothing was done, so the idempotency key is freed; any other error is an answer the key keeps.
 */
function run(
  core: Core,
  route: { handler: Handler },
  input: Parameters<Handler>[1],
): { status: number; json: string } | ApiError {
  try {
    return { status: 200, json: JSON.stringify(route.handler(core, input), null, 2) };
  } catch (err) {
    if (!(err instanceof ApiError)) {
      console.error('sandbox: unexpected error', err);
      return new ApiError({ status: 500, type: 'api_error', message: 'An unknown error occurred' });
    }
    if (err.isValidation) return err;
    return { status: err.status, json: JSON.stringify(err.toJSON(), null, 2) };
  }
}
