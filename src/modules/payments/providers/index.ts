export { createProviders, providerNames, providerOf, registerProvider, type Providers } from './registry.ts';
export { createStripeClient, verifyStripeEvent, type StripeClientOptions } from './stripe.ts';
export { factOfEvent, handledEventTypes } from './stripe-events.ts';
export * from './types.ts';
