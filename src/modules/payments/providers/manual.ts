import type { RefundFact } from '../facts.ts';
import type { PaymentProvider, ProviderDefinition, RefundRequest } from './types.ts';

export const manualProvider: ProviderDefinition = { name: 'manual', create: () => createManualProvider() };

/**
 * Bank transfer, cash on delivery: no gateway. The payment waits until an admin confirms the money
 * arrived (POST /admin/payments/:id/confirm), which goes through the same confirmation as a webhook.
 * A refund records money an admin gives back by the same means, so it is done when recorded.
 */
export function createManualProvider(): PaymentProvider {
  return {
    name: 'manual',
    hostedCheckout: false,
    createCheckout: () => Promise.resolve({ sessionId: null, url: null }),
    lookup: () => Promise.resolve(null),
    expireCheckout: () => Promise.resolve('expired'),
    refund: (request: RefundRequest): Promise<RefundFact> =>
      Promise.resolve({
        gatewayRefundId: null,
        refundId: request.refundId,
        amount: request.amount,
        currency: request.currency,
        status: 'SUCCEEDED',
        reason: request.reason,
        failureReason: null,
      }),
    lookupRefund: () => Promise.resolve(null),
  };
}
