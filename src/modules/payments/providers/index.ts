import type Stripe from 'stripe';
import { createManualProvider } from './manual.ts';
import { createStripeProvider } from './stripe.ts';
import type { PaymentProvider, ProviderName } from './types.ts';

export type Providers = Record<ProviderName, PaymentProvider>;

/** Every provider Fulcrum offers; a new one is a file beside these and a line here. */
export function createProviders(stripe: Stripe): Providers {
  return { stripe: createStripeProvider(stripe), manual: createManualProvider() };
}

export const providerNames: readonly ProviderName[] = ['stripe', 'manual'];

export { createStripeClient, verifyStripeEvent, type StripeClientOptions } from './stripe.ts';
export { factOfEvent, handledEventTypes } from './stripe-events.ts';
export * from './types.ts';
