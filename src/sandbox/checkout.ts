import { nowSeconds, noRequest } from './core.ts';
import type { Core, RequestInfo } from './core.ts';
import { invalidParam, invalidState, resourceMissing } from './errors.ts';
import { emitEvent } from './events.ts';
import { checkExpand } from './expand.ts';
import {
  child,
  expandParam,
  metadataParam,
  optionalArray,
  optionalEnum,
  optionalInteger,
  optionalObject,
  optionalString,
  rejectUnknown,
  requiredString,
} from './params.ts';
import type { Params } from './params.ts';
import type { SessionRecord } from './state.ts';
import { parseLineItem } from './line-items.ts';
import type { CheckoutSession } from './types.ts';
import { randomId } from './util.ts';

const usedParams = [
  'mode',
  'line_items',
  'success_url',
  'cancel_url',
  'client_reference_id',
  'metadata',
  'customer_email',
  'expires_at',
  'payment_intent_data',
  'payment_method_types',
  'locale',
  'ui_mode',
  'expand',
];
// Accepted as Stripe would, but without effect in the sandbox.
const ignoredParams = [
  'after_expiration',
  'allow_promotion_codes',
  'automatic_tax',
  'billing_address_collection',
  'consent_collection',
  'currency',
  'custom_fields',
  'custom_text',
  'customer_creation',
  'invoice_creation',
  'payment_method_options',
  'phone_number_collection',
  'shipping_address_collection',
  'submit_type',
  'tax_id_collection',
];

const minExpirySeconds = 30 * 60;
const maxExpirySeconds = 24 * 3600;
// Absorbs the client's and the sandbox's clocks rounding to different seconds.
const expirySlackSeconds = 5;

function urlParam(value: Params[string], param: string): string | null {
  const url = optionalString(value, param, 5000);
  if (url === undefined) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidParam(param, 'Not a valid URL', 'url_invalid');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalidParam(param, 'Not a valid URL', 'url_invalid');
  }
  return url;
}

/** `POST /v1/checkout/sessions`. Validates everything before anything is stored. */
export function createSession(core: Core, params: Params): SessionRecord {
  rejectUnknown(params, [...usedParams, ...ignoredParams]);
  checkExpand('checkout.session', expandParam(params));
  const created = nowSeconds(core);
  checkPaymentMode(params);
  const successUrl = urlParam(params.success_url, 'success_url');
  const cancelUrl = urlParam(params.cancel_url, 'cancel_url');
  const clientReferenceId = optionalString(params.client_reference_id, 'client_reference_id', 200) ?? null;
  const customerEmail = optionalString(params.customer_email, 'customer_email', 800) ?? null;
  if (customerEmail !== null && !/^[^@\s]+@[^@\s]+$/.test(customerEmail)) {
    throw invalidParam('customer_email', `Invalid email address: ${customerEmail}`, 'email_invalid');
  }
  const metadata = metadataParam(params.metadata);
  const locale = optionalString(params.locale, 'locale', 20) ?? null;

  const expiresAt = parseExpiresAt(params, created);

  const intentData = parseIntentData(params);

  const { lineItems, currency, total } = parseLineItems(params, created);

  const id = randomId('cs_test', 58);
  const session: CheckoutSession = {
    id,
    object: 'checkout.session',
    after_expiration: null,
    allow_promotion_codes: null,
    amount_subtotal: total,
    amount_total: total,
    automatic_tax: { enabled: false, liability: null, status: null },
    billing_address_collection: null,
    cancel_url: cancelUrl,
    client_reference_id: clientReferenceId,
    client_secret: null,
    consent: null,
    consent_collection: null,
    created,
    currency,
    currency_conversion: null,
    custom_fields: [],
    customer: null,
    customer_creation: 'if_required',
    customer_details: null,
    customer_email: customerEmail,
    expires_at: expiresAt,
    invoice: null,
    livemode: false,
    locale,
    metadata,
    mode: 'payment',
    payment_intent: null,
    payment_link: null,
    payment_method_collection: 'if_required',
    payment_method_types: ['card'],
    payment_status: 'unpaid',
    recovered_from: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: [],
    status: 'open',
    submit_type: null,
    subscription: null,
    success_url: successUrl,
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: 'hosted',
    url: `${core.publicUrl()}/checkout/${id}`,
  };
  const record: SessionRecord = { session, lineItems, intentData };
  core.state.sessions.set(id, record);
  scheduleExpiry(core, record);
  core.changed();
  return record;
}

/** Only `payment` mode, hosted, by card: what the sandbox does. */
function checkPaymentMode(params: Params): void {
  const mode = requiredString(params.mode, 'mode');
  if (mode !== 'payment') {
    optionalEnum(mode, 'mode', ['payment', 'setup', 'subscription']);
    throw invalidParam('mode', 'The sandbox supports only `payment` mode.');
  }
  const uiMode = optionalString(params.ui_mode, 'ui_mode');
  if (uiMode !== undefined && uiMode !== 'hosted') {
    throw invalidParam('ui_mode', 'The sandbox supports only the `hosted` ui_mode.');
  }
  const methods = optionalArray(params.payment_method_types, 'payment_method_types') ?? ['card'];
  methods.forEach((m, i) => {
    if (m !== 'card') {
      throw invalidParam(child('payment_method_types', i), 'The sandbox supports only the `card` payment method type.');
    }
  });
}

/** Between 30 minutes and 24 hours from creation (Stripe's bounds, with a little slack); 24 hours by default. */
function parseExpiresAt(params: Params, created: number): number {
  const expiresAt = optionalInteger(params.expires_at, 'expires_at') ?? created + maxExpirySeconds;
  if (expiresAt > created + maxExpirySeconds + expirySlackSeconds) {
    throw invalidParam(
      'expires_at',
      'The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.',
    );
  }
  if (expiresAt < created + minExpirySeconds - expirySlackSeconds) {
    throw invalidParam(
      'expires_at',
      'The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.',
    );
  }
  return expiresAt;
}

/** `payment_intent_data`: what the session's payment intent is created with (automatic capture only). */
function parseIntentData(params: Params): SessionRecord['intentData'] {
  const pidPath = 'payment_intent_data';
  const pid = optionalObject(params.payment_intent_data, pidPath) ?? {};
  rejectUnknown(
    pid,
    [
      'metadata',
      'description',
      'receipt_email',
      'capture_method',
      'setup_future_usage',
      'statement_descriptor',
      'statement_descriptor_suffix',
      'shipping',
      'transfer_group',
    ],
    pidPath,
  );
  const capture = optionalEnum(pid.capture_method, child(pidPath, 'capture_method'), [
    'automatic',
    'automatic_async',
    'manual',
  ]);
  if (capture === 'manual') {
    throw invalidParam(child(pidPath, 'capture_method'), 'The sandbox supports only automatic capture.');
  }
  const intentData = {
    metadata: metadataParam(pid.metadata, child(pidPath, 'metadata')),
    description: optionalString(pid.description, child(pidPath, 'description'), 1000) ?? null,
    receiptEmail: optionalString(pid.receipt_email, child(pidPath, 'receipt_email'), 800) ?? null,
  };
  return intentData;
}

/** 1 to 100 line items in one currency, and their total. */
function parseLineItems(params: Params, created: number) {
  const rawItems = optionalArray(params.line_items, 'line_items');
  if (rawItems === undefined || rawItems.length === 0) {
    throw invalidParam('line_items', 'You must provide at least one line item in `payment` mode.', 'parameter_missing');
  }
  if (rawItems.length > 100) throw invalidParam('line_items', 'You may only specify up to 100 line items.');
  const lineItems = rawItems.map((raw, i) => parseLineItem(raw, i, created));
  const currency = lineItems[0]?.currency ?? 'usd';
  if (lineItems.some((li) => li.currency !== currency)) {
    throw invalidParam('line_items', 'All line items must have the same currency.');
  }
  const total = lineItems.reduce((sum, li) => sum + li.amount_total, 0);
  return { lineItems, currency, total };
}

export function scheduleExpiry(core: Core, record: SessionRecord): void {
  if (record.session.status !== 'open') return;
  const id = record.session.id;
  core.scheduler.at(`expire:${id}`, record.session.expires_at * 1000, () => {
    const current = core.state.sessions.get(id);
    if (current?.session.status === 'open') expire(core, current, noRequest);
  });
}

/** The session, expired first if its time has passed (the timer may not have run yet). */
export function findSession(core: Core, id: string): SessionRecord {
  const record = core.state.sessions.get(id);
  if (record === undefined) throw resourceMissing('checkout.session', id, 'session');
  if (record.session.status === 'open' && record.session.expires_at <= nowSeconds(core)) {
    expire(core, record, noRequest);
  }
  return record;
}

/** `POST /v1/checkout/sessions/:id/expire`. */
export function expireSession(core: Core, id: string, params: Params, request: RequestInfo): SessionRecord {
  rejectUnknown(params, ['expand']);
  checkExpand('checkout.session', expandParam(params));
  const record = findSession(core, id);
  if (record.session.status !== 'open') {
    throw invalidState(
      `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of \`${record.session.status}\`.`,
    );
  }
  expire(core, record, request);
  return record;
}

function expire(core: Core, record: SessionRecord, request: RequestInfo): void {
  const { session } = record;
  session.status = 'expired';
  session.url = null;
  core.scheduler.cancel(`expire:${session.id}`);
  const intentRecord = session.payment_intent === null ? undefined : core.state.intents.get(session.payment_intent);
  if (intentRecord !== undefined && intentRecord.intent.status === 'requires_payment_method') {
    const { intent } = intentRecord;
    intent.status = 'canceled';
    intent.canceled_at = nowSeconds(core);
    intent.cancellation_reason = 'abandoned';
    emitEvent(core, 'payment_intent.canceled', intent, { request });
  }
  emitEvent(core, 'checkout.session.expired', session, { request });
}
