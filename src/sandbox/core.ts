import type { Faults } from './faults.ts';
import type { Scheduler } from './scheduler.ts';
import type { EventRecord, State } from './state.ts';

/** Who caused a change: the API request (id and idempotency key), or nobody (page, timer). */
export interface RequestInfo {
  id: string | null;
  idempotency_key: string | null;
}

export const noRequest: RequestInfo = { id: null, idempotency_key: null };

/** The sandbox's shared context, passed explicitly to every operation. */
export interface Core {
  state: State;
  /** Milliseconds since the epoch; injectable so tests can move time. */
  now(): number;
  /** Base of hosted page links (`session.url`). */
  publicUrl(): string;
  scheduler: Scheduler;
  faults: Faults;
  /** Randomness for faults; replaced by a seeded generator when a seed is given. */
  random: () => number;
  asyncPaymentDelayMs: number;
  /** Called for every new event (webhook delivery hooks in here). */
  onEvent(record: EventRecord): void;
  /** State changed: persist soon. */
  changed(): void;
  /** Resolves once every change so far is in the data file (at once without one); rejects if that write failed. */
  durable(): Promise<void>;
}

export function nowSeconds(core: Core): number {
  return Math.floor(core.now() / 1000);
}
