import type { CardDetails } from './types.ts';

/** How refunds of a paid card end: `fail` pending then failed; `fail_after_success` succeeded, then failed. */
export type RefundOutcome = 'succeed' | 'fail' | 'fail_after_success';

export type Behaviour =
  | { kind: 'succeed'; refunds?: RefundOutcome }
  | { kind: 'async'; outcome: 'succeed' | 'fail' }
  | { kind: 'decline'; code: string; declineCode: string | null; message: string };

export const declinedMessage = 'Your card was declined.';

/**
 * Stripe's test cards (https://docs.stripe.com/testing), plus two of the sandbox's own: 4000 0000 0000 3238
 * for an async failure, and 4000 0000 0000 5134 for refunds reported succeeded that fail later.
 */
const testCards: Record<string, Behaviour> = {
  '4242424242424242': { kind: 'succeed' },
  '4000056655665556': { kind: 'succeed' },
  '5555555555554444': { kind: 'succeed' },
  '378282246310005': { kind: 'succeed' },
  '4000000000005126': { kind: 'succeed', refunds: 'fail' },
  '4000000000005134': { kind: 'succeed', refunds: 'fail_after_success' },
  '4000000000003220': { kind: 'async', outcome: 'succeed' },
  '4000000000003238': { kind: 'async', outcome: 'fail' },
  '4000000000000002': {
    kind: 'decline',
    code: 'card_declined',
    declineCode: 'generic_decline',
    message: declinedMessage,
  },
  '4000000000009995': {
    kind: 'decline',
    code: 'card_declined',
    declineCode: 'insufficient_funds',
    message: 'Your card has insufficient funds.',
  },
  '4000000000009987': { kind: 'decline', code: 'card_declined', declineCode: 'lost_card', message: declinedMessage },
  '4000000000000069': { kind: 'decline', code: 'expired_card', declineCode: null, message: 'Your card has expired.' },
  '4000000000000127': {
    kind: 'decline',
    code: 'incorrect_cvc',
    declineCode: null,
    message: "Your card's security code is incorrect.",
  },
};

const liveCard: Behaviour = {
  kind: 'decline',
  code: 'card_declined',
  declineCode: 'test_mode_live_card',
  message:
    'Your card was declined. Your request was in test mode, but used a non test card. For a list of valid test cards, visit: https://stripe.com/docs/testing.',
};

export function behaviourOf(number: string): Behaviour {
  return testCards[number] ?? liveCard;
}

export function cardDetails(number: string): CardDetails {
  const brand = number.startsWith('4')
    ? 'visa'
    : number.startsWith('5')
      ? 'mastercard'
      : number.startsWith('3')
        ? 'amex'
        : 'unknown';
  return {
    brand,
    country: 'US',
    exp_month: 12,
    exp_year: new Date().getUTCFullYear() + 3,
    fingerprint: number.slice(-8).padStart(16, 'f'),
    funding: 'credit',
    last4: number.slice(-4),
  };
}
