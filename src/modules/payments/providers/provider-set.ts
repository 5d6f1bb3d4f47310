import { manualProvider } from './manual.ts';
import { stripeProvider } from './stripe.ts';
import type { PaymentProvider, ProviderContext, ProviderDefinition, ProviderName } from './types.ts';

/**
 * The providers Fulcrum offers when the runtime is given none; the first is the default. A new provider is a
 * file beside these (a `ProviderDefinition`), passed to `createPaymentsRuntime({ providers })` or added here:
 * the request and response schemas, checkout, the inbox worker, reconciliation and refunds all take the set
 * the runtime built.
 */
export const defaultProviders: readonly ProviderDefinition[] = [
  stripeProvider, // Stripe, or the sandbox
  manualProvider, // bank transfer, cash on delivery: an admin confirms
];

/** The providers of one payments runtime, by name, in the order they were given. */
export type Providers = Readonly<Record<ProviderName, PaymentProvider>>;

/** Builds the runtime's providers from their definitions; an empty list or a name given twice is an error. */
export function createProviders(context: ProviderContext, definitions: readonly ProviderDefinition[]): Providers {
  const built: Record<ProviderName, PaymentProvider> = {};
  for (const definition of definitions) {
    if (Object.hasOwn(built, definition.name)) throw new Error(`provider ${definition.name}: given twice`);
    built[definition.name] = definition.create(context);
  }
  if (Object.keys(built).length === 0) throw new Error('no payment provider given');
  return Object.freeze(built);
}

/** The names of a runtime's providers, for zod enums (a non-empty tuple). */
export function providerNames(providers: Providers): [ProviderName, ...ProviderName[]] {
  const [first, ...rest] = Object.keys(providers);
  if (first === undefined) throw new Error('no payment provider given');
  return [first, ...rest];
}

/** The provider a payment was made with; a name the runtime was not given is a programming error. */
export function providerOf(providers: Providers, name: ProviderName): PaymentProvider {
  const provider = Object.hasOwn(providers, name) ? providers[name] : undefined;
  if (provider === undefined) throw new Error(`unknown payment provider ${name}`);
  return provider;
}
