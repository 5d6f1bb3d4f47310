import { manualProvider } from './manual.ts';
import { stripeProvider } from './stripe.ts';
import type { PaymentProvider, ProviderContext, ProviderDefinition, ProviderName } from './types.ts';

/**
 * Every payment provider Fulcrum offers; the first is the default. A new provider is a file beside these
 * (a `ProviderDefinition`) and a line here: the request and response schemas, checkout, the inbox worker,
 * reconciliation and refunds all take the list from here.
 */
const registry: ProviderDefinition[] = [
  stripeProvider, // Stripe, or the sandbox
  manualProvider, // bank transfer, cash on delivery: an admin confirms
];

/** Set once the list has been read (schemas built, a runtime created): later registrations would be missed. */
let sealed = false;

export type Providers = Readonly<Record<ProviderName, PaymentProvider>>;

/**
 * Adds a provider that is not in the list above (a test's fake gateway, a plugin). Only before the
 * payments module is loaded: its schemas are built from the list when it loads.
 */
export function registerProvider(definition: ProviderDefinition): void {
  if (sealed) throw new Error(`provider ${definition.name}: register providers before the payments module loads`);
  if (registry.some((d) => d.name === definition.name))
    throw new Error(`provider ${definition.name}: already registered`);
  registry.push(definition);
}

/** The registered names, for zod enums (a non-empty tuple). */
export function providerNames(): [ProviderName, ...ProviderName[]] {
  sealed = true;
  const [first, ...rest] = registry.map((d) => d.name);
  if (first === undefined) throw new Error('no payment provider registered');
  return [first, ...rest];
}

/** Builds every registered provider. */
export function createProviders(context: ProviderContext): Providers {
  sealed = true;
  return Object.fromEntries(registry.map((d) => [d.name, d.create(context)]));
}

/** The provider a payment was made with; a name nobody registered is a programming error. */
export function providerOf(providers: Providers, name: ProviderName): PaymentProvider {
  const provider = providers[name];
  if (provider === undefined) throw new Error(`unknown payment provider ${name}`);
  return provider;
}
