import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { PARTIAL_INDEX } from '../../db/partial-index.ts';
import { runExclusive } from '../../shared/scheduler.ts';
import { insertInboxEvent } from '../webhooks/index.ts';
import { closeCheckout, refOf } from './checkout-close.ts';
import { CHECKOUT_REFUSED, openCheckout } from './checkout.service.ts';
import type { PaymentsDeps } from './deps.ts';
import * as repo from './payments.repository.ts';
import type { PaymentRow } from './payments.repository.ts';
import { confirm } from './payments.service.ts';
import { providerOf, refusedOutright, type PaymentProvider } from './providers/index.ts';
import { issueRefund } from './refunds.service.ts';

export const RECONCILE_JOB = 'payments.reconcile';
const LEASE_KEY = 'payments.reconcile.lease';
/** Where a provider's event-log cursor is kept (`payments.stripe.events_cursor` for Stripe). */
const cursorKey = (provider: string): string => `payments.${provider}.events_cursor`;
const ACTOR = 'system:reconciliation';
/** The first run (no cursor yet) reads this far back in the gateway's event log. */
const FIRST_WINDOW_MS = 24 * 3600_000;
const BATCH = 50;

export interface ReconcileReport {
  events: number;
  payments: number;
  refunds: number;
}

async function readState(db: Db, key: string): Promise<unknown> {
  const row = await db.selectFrom('job_state').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value;
}

async function writeState(db: Db, key: string, value: unknown, at: Date): Promise<void> {
  await db
    .insertInto('job_state')
    .values({ key, value: JSON.stringify(value), updated_at: at })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(value), updated_at: at }))
    .execute();
}

/**
 * One node at a time: the job's advisory lock guards taking a lease row, and the work runs outside any
 * transaction (it calls the gateway, which never happens inside one). The holder renews the lease while it
 * runs (renewLease), so the lease can be short: a node killed mid-run (no `finally` runs after SIGKILL) frees
 * it within `leaseMs`, which the runtime keeps at most one reconciliation interval.
 */
async function takeLease(db: Db, holder: string, now: Date, leaseMs: number): Promise<boolean> {
  const result = await runExclusive(db, RECONCILE_JOB, async (trx) => {
    const { rows } = await sql<{ value: { holder: string; until: string } }>`
      select value from job_state where key = ${LEASE_KEY}`.execute(trx);
    const lease = rows[0]?.value;
    if (lease !== undefined && lease.holder !== holder && new Date(lease.until) > now) return false;
    const value = JSON.stringify({ holder, until: new Date(now.getTime() + leaseMs).toISOString() });
    await sql`
      insert into job_state (key, value, updated_at) values (${LEASE_KEY}, ${value}::jsonb, ${now})
      on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at`.execute(trx);
    return true;
  });
  return result.ran && result.value;
}

/** Moves our lease's end to `leaseMs` from now; false when it is no longer ours. */
async function renewLease(db: Db, holder: string, now: Date, leaseMs: number): Promise<boolean> {
  const value = JSON.stringify({ holder, until: new Date(now.getTime() + leaseMs).toISOString() });
  const result = await sql`
    update job_state set value = ${value}::jsonb, updated_at = ${now}
    where key = ${LEASE_KEY} and value->>'holder' = ${holder}`.execute(db);
  return (result.numAffectedRows ?? 0n) > 0n;
}

/** Renews the lease every third of its length until stopped. */
function keepLease(deps: PaymentsDeps, holder: string, leaseMs: number): () => void {
  const timer = setInterval(
    () => {
      renewLease(deps.db, holder, deps.clock.now(), leaseMs).then(
        (ours) => {
          if (!ours) deps.logger.warn({ holder }, 'reconciliation: the lease was taken over while running');
        },
        (error: unknown) => deps.logger.warn({ err: error }, 'reconciliation: could not renew the lease'),
      );
    },
    Math.max(1, Math.floor(leaseMs / 3)),
  );
  timer.unref();
  return () => clearInterval(timer);
}

async function releaseLease(db: Db, holder: string, now: Date): Promise<void> {
  await sql`
    update job_state set value = ${JSON.stringify({ holder, until: now.toISOString() })}::jsonb
    where key = ${LEASE_KEY} and value->>'holder' = ${holder}`.execute(db);
}

/**
 * Ends the reconciliation lease whoever holds it: for a process that knows it is the only one on its database
 * (PGlite) and is starting, so the holder died with the previous process. Returns whether a live lease was ended.
 */
export async function releaseReconcileLease(db: Db, now: Date): Promise<boolean> {
  const result = await sql`
    update job_state set value = jsonb_set(value, '{until}', to_jsonb(${now.toISOString()}::text)), updated_at = ${now}
    where key = ${LEASE_KEY} and (value->>'until')::timestamptz > ${now}`.execute(db);
  return (result.numAffectedRows ?? 0n) > 0n;
}

/** Each provider's event log since its saved cursor, into the inbox (deduplicated there). */
export async function feedGatewayEvents(deps: PaymentsDeps, onStored: () => void): Promise<number> {
  let stored = 0;
  let failure: unknown;
  for (const provider of Object.values(deps.providers)) {
    try {
      stored += await feedProviderEvents(deps, provider);
    } catch (error) {
      failure ??= error; // the other providers' logs are still read
    }
  }
  if (stored > 0) onStored();
  if (failure !== undefined) throw failure;
  return stored;
}

async function feedProviderEvents(deps: PaymentsDeps, provider: PaymentProvider): Promise<number> {
  const list = provider.listEvents;
  if (list === undefined) return 0;
  const now = deps.clock.now();
  const key = cursorKey(provider.name);
  const saved = (await readState(deps.db, key)) as { cursor: string | null } | undefined;
  const { events, cursor } = await list(saved?.cursor ?? null, new Date(now.getTime() - FIRST_WINDOW_MS));
  let stored = 0;
  for (const event of events) {
    const isNew = await insertInboxEvent(
      deps.db,
      { provider: provider.name, eventId: event.id, type: event.type, payload: event.payload },
      now,
    );
    if (isNew) stored += 1;
  }
  if (cursor !== null && cursor !== saved?.cursor) await writeState(deps.db, key, { cursor }, now);
  return stored;
}

/** One PENDING payment: finish what a crash or a lost webhook left undone. */
async function reconcilePayment(deps: PaymentsDeps, payment: PaymentRow): Promise<void> {
  const order = await repo.findOrderForPayment(deps.db, payment.order_id);
  const payable = order !== undefined && order.status === 'CREATED';
  const provider = providerOf(deps.providers, payment.provider);
  if (payment.gateway_session_id === null && provider.hostedCheckout) {
    if (!payable) {
      // Its checkout was never handed to anyone (the URL is returned only once stored): nothing to close.
      await confirm(deps, { kind: 'canceled', ref: refOf(payment), reason: `order is ${order?.status}` }, ACTOR);
      return;
    }
    try {
      await openCheckout(deps, payment); // the same idempotency key: the session made before a crash, or a new one
    } catch (error) {
      // Refused outright: nothing exists under the key (a replay would have answered), so no session either.
      if (!refusedOutright(error)) throw error;
      await confirm(deps, { kind: 'failed', ref: refOf(payment), reason: CHECKOUT_REFUSED }, ACTOR);
    }
    return;
  }
  if (!payable) {
    await closeCheckout(deps, payment, `order is ${order?.status}`);
    return;
  }
  const fact = await provider.lookup({
    paymentId: payment.id,
    sessionId: payment.gateway_session_id ?? '',
  });
  if (fact !== null && fact.kind !== 'open') await confirm(deps, fact, ACTOR);
}

/**
 * PENDING payments of hosted-checkout providers still without a session after the grace (phase 2 takes well
 * under it): a 502 or a crash left them, and their stored session expiry only stays inside the gateway's
 * window for a minute or so — waiting for RECONCILE_AFTER_SECONDS would let it run out.
 */
async function paymentsAwaitingSession(deps: PaymentsDeps, olderThan: Date): Promise<PaymentRow[]> {
  const hosted = Object.values(deps.providers)
    .filter((p) => p.hostedCheckout)
    .map((p) => p.name);
  if (hosted.length === 0) return [];
  return deps.db
    .selectFrom('payments')
    .selectAll()
    .where('status', '=', PARTIAL_INDEX.PENDING)
    .where('gateway_session_id', 'is', null)
    .where('provider', 'in', hosted)
    .where('created_at', '<=', olderThan)
    .where('flagged_reason', 'is', null)
    .where((eb) => eb.or([eb('reconciled_at', 'is', null), eb('reconciled_at', '<=', olderThan)]))
    .orderBy('created_at')
    .orderBy('id')
    .limit(BATCH)
    .execute();
}

export async function reconcilePayments(deps: PaymentsDeps): Promise<number> {
  const now = deps.clock.now();
  const olderThan = new Date(now.getTime() - deps.config.RECONCILE_AFTER_SECONDS * 1000);
  const graceOver = new Date(now.getTime() - deps.config.RECONCILE_CHECKOUT_GRACE_SECONDS * 1000);
  const due = new Map<string, PaymentRow>();
  for (const p of await paymentsAwaitingSession(deps, graceOver)) due.set(p.id, p);
  for (const p of await repo.duePendingPayments(deps.db, olderThan, BATCH)) due.set(p.id, p);
  for (const payment of due.values()) {
    try {
      await reconcilePayment(deps, payment);
    } catch (error) {
      deps.logger.warn({ err: error, paymentId: payment.id }, 'reconciliation: payment left for the next run');
    }
    await repo.updatePayment(deps.db, payment.id, { reconciled_at: now });
  }
  return due.size;
}

/** Refunds not yet sent to the gateway are sent (idempotent on their id); the others are looked up. */
export async function reconcileRefunds(deps: PaymentsDeps): Promise<number> {
  const now = deps.clock.now();
  const pending = await repo.pendingRefunds(deps.db, now, BATCH);
  for (const refund of pending) {
    try {
      if (refund.gateway_refund_id === null) {
        await issueRefund(deps, refund.id);
        continue;
      }
      const payment = (await repo.findPayment(deps.db, refund.payment_id))!;
      const fact = await providerOf(deps.providers, payment.provider).lookupRefund(refund.gateway_refund_id);
      if (fact !== null) {
        await confirm(deps, { kind: 'refund', ref: refOf(payment), refund: { ...fact, refundId: refund.id } }, ACTOR);
      }
    } catch (error) {
      deps.logger.warn({ err: error, refundId: refund.id }, 'reconciliation: refund left for the next run');
    }
  }
  return pending.length;
}

/**
 * One reconciliation run (tests call it directly): the event log into the inbox, PENDING payments looked
 * up, unsent refunds sent. Null when another node holds the lease.
 */
export async function reconcileOnce(
  deps: PaymentsDeps,
  options: { holder: string; leaseMs: number; onStored: () => void },
): Promise<ReconcileReport | null> {
  if (!(await takeLease(deps.db, options.holder, deps.clock.now(), options.leaseMs))) return null;
  const stopRenewing = keepLease(deps, options.holder, options.leaseMs);
  try {
    let events = 0;
    try {
      events = await feedGatewayEvents(deps, options.onStored);
    } catch (error) {
      deps.logger.warn({ err: error }, 'reconciliation: could not read the gateway event log');
    }
    const payments = await reconcilePayments(deps);
    const refunds = await reconcileRefunds(deps);
    return { events, payments, refunds };
  } finally {
    stopRenewing();
    await releaseLease(deps.db, options.holder, deps.clock.now());
  }
}
