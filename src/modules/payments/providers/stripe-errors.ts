import Stripe from 'stripe';
import { GatewayError } from './types.ts';

// How Stripe's errors read to Fulcrum (GatewayError: `rejected` or `unavailable`), for the provider and its event feed.

/** Our taxonomy of the SDK's errors: only a definite "no" from the gateway is a rejection. */
export function toGatewayError(error: unknown, what: string): GatewayError {
  if (error instanceof GatewayError) return error;
  if (
    error instanceof Stripe.errors.StripeInvalidRequestError ||
    error instanceof Stripe.errors.StripeCardError ||
    error instanceof Stripe.errors.StripeIdempotencyError
  ) {
    return new GatewayError('rejected', `${what}: rejected by the gateway (${error.code ?? error.type})`, {
      cause: error,
      keyConflict: error instanceof Stripe.errors.StripeIdempotencyError,
    });
  }
  // Connection errors, timeouts, 5xx, 409 in-flight, rate limits, bad keys: the outcome is unknown or temporary.
  return new GatewayError('unavailable', `${what}: gateway unavailable`, { cause: error });
}

export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toGatewayError(error, what);
  }
}

export function isNotOpen(error: unknown): boolean {
  return error instanceof Stripe.errors.StripeInvalidRequestError && /status/i.test(error.message);
}

/**
 * The gateway says the checkout session does not exist (404 `resource_missing`). Nothing can be paid through a
 * session the gateway does not have, so this is an answer, not an outage. Stripe answers the same 404 when the
 * session lives in the other mode ("a similar object exists in live mode"): that is a misconfigured key, so it is
 * left to look like an outage rather than closing every payment.
 */
export function isMissingSession(error: unknown): boolean {
  return (
    error instanceof Stripe.errors.StripeInvalidRequestError &&
    error.code === 'resource_missing' &&
    error.statusCode === 404 &&
    !/similar object exists/i.test(error.message)
  );
}

/** Why a payment whose checkout session the gateway does not know was closed. */
export const MISSING_SESSION = 'checkout_session_missing';
