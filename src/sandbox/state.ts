import type { Charge, CheckoutSession, LineItem, Metadata, PaymentIntent, Refund, StripeEvent } from './types.ts';

export interface SessionRecord {
  session: CheckoutSession;
  lineItems: LineItem[];
  /** `payment_intent_data`, applied when the payment intent is made at the first payment attempt. */
  intentData: { metadata: Metadata; description: string | null; receiptEmail: string | null };
}

export interface IntentRecord {
  intent: PaymentIntent;
  sessionId: string;
  /** An asynchronous payment in progress: how it ends and when (ms). */
  pendingAsync: { outcome: 'succeed' | 'fail'; dueAt: number } | null;
  /** Paid with 4000 0000 0000 5126 or …5134: refunds fail after `asyncPaymentDelayMs`. */
  refundsFail: boolean;
  /** Paid with 4000 0000 0000 5134: those refunds are `succeeded` until they fail (absent in older data files). */
  refundsFailAfterSuccess?: boolean;
}

export interface RefundRecord {
  refund: Refund;
  /** When the refund fails (ms), for cards whose refunds fail; null once failed or for other cards. */
  failAt: number | null;
}

export interface EventRecord {
  event: StripeEvent;
  /** Creation order: several events share a `created` second. */
  seq: number;
}

/** `pending` until a 2xx (retried forever) or a `dropRate` fault (`dropped`). */
export type DeliveryStatus = 'pending' | 'succeeded' | 'dropped';

/** The webhook delivery of one event to the endpoint. */
export interface DeliveryState {
  eventId: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number | null;
  /** Held back by a fault until flushed (or its time comes). */
  hold: 'delay' | 'reorder' | null;
  /** Extra copies to send after the first attempt (fault `duplicate`). */
  duplicates: number;
  /** Seconds every attempt's signature timestamp is back-dated (fault `signatureAgeSeconds`; absent: 0). */
  signatureAgeSeconds?: number;
}

export interface DeliveryLogEntry {
  eventId: string;
  type: string;
  attempt: number;
  /** null: connection error, timeout, or dropped by a fault. */
  statusCode: number | null;
  at: string;
  url: string | null;
  duplicate: boolean;
  dropped: boolean;
  error: string | null;
  /** When this failed attempt is retried (ISO 8601); null once delivered, and for copies and drops. */
  nextRetryAt: string | null;
}

export interface IdempotencyRecord {
  key: string;
  method: string;
  path: string;
  paramsHash: string;
  inFlight: boolean;
  status: number;
  body: string;
  requestId: string;
  createdAt: number;
}

export interface State {
  sessions: Map<string, SessionRecord>;
  intents: Map<string, IntentRecord>;
  charges: Map<string, Charge>;
  refunds: Map<string, RefundRecord>;
  events: EventRecord[];
  eventsById: Map<string, EventRecord>;
  nextSeq: number;
  deliveries: Map<string, DeliveryState>;
  deliveryLog: DeliveryLogEntry[];
  idempotency: Map<string, IdempotencyRecord>;
}

export function emptyState(): State {
  return {
    sessions: new Map(),
    intents: new Map(),
    charges: new Map(),
    refunds: new Map(),
    events: [],
    eventsById: new Map(),
    nextSeq: 1,
    deliveries: new Map(),
    deliveryLog: [],
    idempotency: new Map(),
  };
}

/** What the data file holds; `version` guards against reading a future format. */
export interface Snapshot {
  version: 1;
  webhookSecret: string;
  sessions: SessionRecord[];
  intents: IntentRecord[];
  charges: Charge[];
  refunds: RefundRecord[];
  events: EventRecord[];
  nextSeq: number;
  deliveries: DeliveryState[];
  deliveryLog: DeliveryLogEntry[];
  idempotency: IdempotencyRecord[];
}

export function toSnapshot(state: State, webhookSecret: string): Snapshot {
  return {
    version: 1,
    webhookSecret,
    sessions: [...state.sessions.values()],
    intents: [...state.intents.values()],
    charges: [...state.charges.values()],
    refunds: [...state.refunds.values()],
    events: state.events,
    nextSeq: state.nextSeq,
    deliveries: [...state.deliveries.values()],
    deliveryLog: state.deliveryLog,
    // A request cut short by the restart never finished: its key must be usable again.
    idempotency: [...state.idempotency.values()].filter((r) => !r.inFlight),
  };
}

export function fromSnapshot(s: Snapshot): State {
  const state = emptyState();
  for (const r of s.sessions) state.sessions.set(r.session.id, r);
  for (const r of s.intents) state.intents.set(r.intent.id, r);
  for (const c of s.charges) state.charges.set(c.id, c);
  for (const r of s.refunds) state.refunds.set(r.refund.id, r);
  state.events = s.events;
  for (const e of s.events) state.eventsById.set(e.event.id, e);
  state.nextSeq = s.nextSeq;
  for (const d of s.deliveries) {
    // Data files from before retries went on forever hold given-up (`failed`) deliveries: retried again.
    if ((d.status as string) === 'failed') Object.assign(d, { status: 'pending', nextAttemptAt: null, hold: null });
    state.deliveries.set(d.eventId, d);
  }
  state.deliveryLog = s.deliveryLog;
  for (const r of s.idempotency) state.idempotency.set(r.key, r);
  return state;
}
