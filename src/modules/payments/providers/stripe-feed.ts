import Stripe from 'stripe';
import { toGatewayError } from './stripe-errors.ts';
import { handledEventTypes } from './stripe-events.ts';
import type { GatewayEvent } from './types.ts';

// Stripe's event log read for reconciliation (the provider's `listEvents`): what the webhooks may have missed.

const MAX_EVENT_PAGES = 10;
const PAGE = 100;
const asEvent = (e: Stripe.Event): GatewayEvent => ({ id: e.id, type: e.type, payload: JSON.stringify(e) });

/**
 * Where the event log was read up to: `after`, the newest event taken (the next call reads what is newer);
 * `backfill`, while the first read of the time window is unfinished: older events of the window, before
 * (older than) `before`, are still to be read. Saved as the bare event id when there is no backfill.
 */
interface EventCursor {
  after: string;
  backfill?: { before: string; gte: number };
}

function parseCursor(cursor: string | null): EventCursor | null {
  if (cursor === null) return null;
  if (!cursor.startsWith('{')) return { after: cursor };
  try {
    const parsed = JSON.parse(cursor) as EventCursor;
    return typeof parsed.after === 'string' ? parsed : null;
  } catch {
    return null;
  }
}

const formatCursor = (c: EventCursor): string => (c.backfill === undefined ? c.after : JSON.stringify(c));

/** A cursor event Stripe no longer knows (older than 30 days): a 400/404 invalid request. */
const isGoneCursor = (error: unknown): boolean => error instanceof Stripe.errors.StripeInvalidRequestError;

/**
 * Events newer than the cursor (Stripe's `ending_before` pages: each the 100 events just newer, newest
 * first), then — while the first read of the window is unfinished — older ones of the window, at most
 * 1,000 per call in all; the next call continues from the returned cursor. Without a cursor, or when
 * Stripe no longer knows its event (30 days), the window since `since` is read newest first, and what did
 * not fit in this call is read by the next ones (the backfill), so no event of the window is skipped.
 */
export async function listEventsSince(
  stripe: Pick<Stripe, 'events'>,
  cursor: string | null,
  since: Date,
): Promise<{ events: GatewayEvent[]; cursor: string | null }> {
  const types = [...handledEventTypes];
  let pages = 0;
  const newer: Stripe.Event[] = [];
  const older: Stripe.Event[] = []; // newest first
  let state = parseCursor(cursor);

  try {
    if (state !== null) {
      let before = state.after;
      try {
        while (pages < MAX_EVENT_PAGES) {
          pages += 1;
          const list = await stripe.events.list({ ending_before: before, limit: PAGE, types });
          const [newest] = list.data;
          if (newest === undefined) break;
          newer.push(...[...list.data].reverse());
          before = newest.id;
          if (!list.has_more) break;
        }
        state = { ...state, after: before };
      } catch (error) {
        if (!isGoneCursor(error) || newer.length > 0) throw error;
        state = null; // the cursor's event is gone: start again from the time window
      }
    }

    if (state === null) {
      // The window, newest first; its newest event is where the next call reads on from.
      const gte = Math.floor(since.getTime() / 1000);
      let hasMore = true;
      while (hasMore && pages < MAX_EVENT_PAGES) {
        pages += 1;
        const last = older.at(-1);
        const list = await stripe.events.list({
          created: { gte },
          limit: PAGE,
          types,
          ...(last === undefined ? {} : { starting_after: last.id }),
        });
        older.push(...list.data);
        hasMore = list.has_more && list.data.length > 0;
      }
      const [newest] = older;
      const oldest = older.at(-1);
      if (newest === undefined || oldest === undefined) return { events: [], cursor: null };
      state = { after: newest.id, ...(hasMore ? { backfill: { before: oldest.id, gte } } : {}) };
    } else if (state.backfill !== undefined && pages < MAX_EVENT_PAGES) {
      let { before } = state.backfill;
      const { gte } = state.backfill;
      let hasMore = true;
      try {
        while (hasMore && pages < MAX_EVENT_PAGES) {
          pages += 1;
          const list = await stripe.events.list({ created: { gte }, limit: PAGE, types, starting_after: before });
          older.push(...list.data);
          before = list.data.at(-1)?.id ?? before;
          hasMore = list.has_more && list.data.length > 0;
        }
      } catch (error) {
        if (!isGoneCursor(error) || older.length > 0) throw error;
        hasMore = false; // its event is gone, and so is everything older: nothing left to backfill
      }
      state = { after: state.after, ...(hasMore ? { backfill: { before, gte } } : {}) };
    }
  } catch (error) {
    throw toGatewayError(error, 'list events');
  }
  return { events: [...older.reverse(), ...newer].map(asEvent), cursor: formatCursor(state) };
}
