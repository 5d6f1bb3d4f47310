export { createProviders, defaultProviders, providerNames, providerOf, type Providers } from './provider-set.ts';
export { createStripeClient, verifyStripeEvent, type StripeClientOptions } from './stripe.ts';
export { factOfEvent, handledEventTypes } from './stripe-events.ts';
export * from './types.ts';
