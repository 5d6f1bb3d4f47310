import { createHmac } from 'node:crypto';

/**
 * A payment's gateway events as the sandbox made them, for the webhook rows: the bench pays each session at the
 * sandbox (which has no webhook endpoint, so it only keeps its event log), reads the log, and sends the events
 * itself, signed at send time, so it knows when each left.
 */

/** Stripe's scheme, as the sandbox signs: `t=<unix>,v1=<hex HMAC-SHA256 of "t.payload" keyed with the whole secret>`. */
export function signatureHeader(payload: string, secret: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

/** The part of a Stripe event the grouping reads. */
export interface SandboxEvent {
  id: string;
  type: string;
  data: { object: { id?: string; object?: string; payment_intent?: string | null } };
}

/** The payment intent an event belongs to: the intent itself, a charge's or a Checkout Session's. */
export function paymentIntentOf(event: SandboxEvent): string | undefined {
  const object = event.data.object;
  if (object.object === 'payment_intent') return object.id;
  return object.payment_intent ?? undefined;
}

export interface PaymentSequence {
  paymentIntent: string;
  /** The Checkout Session of the payment, from its `checkout.session.*` event. */
  sessionId: string | undefined;
  /** The events in the order the sandbox made them. */
  events: SandboxEvent[];
}

/**
 * Groups an event log (oldest first, as the sandbox made the events) into one sequence per payment, each in the
 * sandbox's order; the sequences in the order of their first event. Events of no payment are left out.
 */
export function groupByPayment(oldestFirst: readonly SandboxEvent[]): PaymentSequence[] {
  const byIntent = new Map<string, PaymentSequence>();
  for (const event of oldestFirst) {
    const intent = paymentIntentOf(event);
    if (intent === undefined) continue;
    let sequence = byIntent.get(intent);
    if (sequence === undefined) {
      sequence = { paymentIntent: intent, sessionId: undefined, events: [] };
      byIntent.set(intent, sequence);
    }
    if (event.data.object.object === 'checkout.session') sequence.sessionId = event.data.object.id;
    sequence.events.push(event);
  }
  return [...byIntent.values()];
}
