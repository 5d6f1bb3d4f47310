import { sql } from 'kysely';
import type { Executor } from '../../db/database.ts';
import { newId } from '../../shared/ids.ts';
import { insertInboxEvent, type NewInboxEvent } from './inbox.repository.ts';

/**
 * The webhook route's way into the inbox: insertInboxEvent, but deliveries that arrive while earlier ones are
 * being written share one statement (one round trip and one commit for many events). Nothing waits for a batch
 * to fill: a delivery is written at once when fewer than `inFlight` statements are running, else with everything
 * that queued behind them. Each delivery still learns its own answer (new, or a duplicate) only once its row is
 * committed, so the route's 200 keeps meaning "stored". A batch that fails is written again row by row, so one bad
 * row fails alone and a database outage fails every delivery (the gateway retries them).
 */
export interface InboxIntake {
  /** insertInboxEvent's answer for this event: true when it was new and waits for the worker. */
  store(event: NewInboxEvent, now: Date): Promise<boolean>;
}

interface Waiting {
  id: string;
  event: NewInboxEvent;
  now: Date;
  resolve: (isNew: boolean) => void;
  reject: (error: unknown) => void;
}

export interface InboxIntakeOptions {
  /** Statements running at once (default 2): the first deliveries go alone, the rest queue into batches. */
  inFlight?: number;
  /** Rows per statement at most (default 100). */
  maxBatch?: number;
}

export function createInboxIntake(db: Executor, options: InboxIntakeOptions = {}): InboxIntake {
  const inFlight = options.inFlight ?? 2;
  const maxBatch = options.maxBatch ?? 100;
  const queue: Waiting[] = [];
  let running = 0;

  const pump = (): void => {
    while (running < inFlight && queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      running += 1;
      void write(db, batch).finally(() => {
        running -= 1;
        pump();
      });
    }
  };

  return {
    store(event, now) {
      return new Promise<boolean>((resolve, reject) => {
        queue.push({ id: newId('whk'), event, now, resolve, reject });
        pump();
      });
    },
  };
}

async function write(db: Executor, batch: Waiting[]): Promise<void> {
  if (batch.length === 1) {
    const [one] = batch as [Waiting];
    await insertInboxEvent(db, one.event, one.now, one.id).then(one.resolve, one.reject);
    return;
  }
  let inserted: Set<string>;
  try {
    inserted = await insertMany(db, batch);
  } catch {
    // Which row failed is not known: each is written on its own, and fails (or not) on its own.
    await Promise.all(batch.map((w) => insertInboxEvent(db, w.event, w.now, w.id).then(w.resolve, w.reject)));
    return;
  }
  for (const w of batch) w.resolve(inserted.has(w.id) && w.event.processedOutcome === undefined);
}

/**
 * One statement for the batch, its text the same whatever its size (the rows come as arrays): the ids of the rows
 * inserted. A second delivery of an event in the same batch conflicts with the first like any duplicate.
 */
async function insertMany(db: Executor, batch: Waiting[]): Promise<Set<string>> {
  const column = <T>(f: (w: Waiting) => T): T[] => batch.map(f);
  const done = (w: Waiting) => w.event.processedOutcome !== undefined;
  const { rows } = await sql<{ id: string }>`
    insert into webhook_inbox (id, provider, event_id, type, payload, status, outcome, next_attempt_at, received_at,
                               processed_at)
    select v.id, v.provider, v.event_id, v.type, v.payload::jsonb, v.status, v.outcome, v.at, v.at, v.processed_at
    from unnest(${column((w) => w.id)}::text[], ${column((w) => w.event.provider)}::text[],
                ${column((w) => w.event.eventId)}::text[], ${column((w) => w.event.type)}::text[],
                ${column((w) => w.event.payload)}::text[], ${column((w) => (done(w) ? 'processed' : 'pending'))}::text[],
                ${column((w) => w.event.processedOutcome ?? null)}::text[], ${column((w) => w.now)}::timestamptz[],
                ${column((w) => (done(w) ? w.now : null))}::timestamptz[])
      as v(id, provider, event_id, type, payload, status, outcome, at, processed_at)
    on conflict (provider, event_id) do nothing
    returning id`.execute(db);
  return new Set(rows.map((r) => r.id));
}
