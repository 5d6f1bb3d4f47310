import type { Database, Db } from '../../db/database.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import { createWakeableLoop, type WakeableLoop } from '../../shared/wakeable-loop.ts';
import type { AmqpPublisher } from '../events-out/index.ts';
import { staffCopy, toRealtimeEvent, type RealtimeEvent } from './events.ts';
import {
  listUnpublished,
  listUnpublishedForSockets,
  markPublished,
  numberEvents,
  type Sink,
} from './realtime.repository.ts';
import { embeddedLeadership, serverLeadership, type RelayLeadership } from './relay-leader.ts';

type SocketSink = (events: readonly RealtimeEvent[], staff: readonly RealtimeEvent[]) => void;

export interface RelayOptions {
  database: Database;
  logger: Logger;
  clock: Clock;
  /**
   * The Socket.IO sink (Realtime.publish); throws to keep the rows for a later attempt. `staff` are the same
   * events as the staff feed numbers them (docs/api.md § The staff feed).
   */
  publishToSockets?: SocketSink;
  /** The RabbitMQ sink, when AMQP_URL is set. */
  amqp?: AmqpPublisher;
  /**
   * Fallback poll; default 1 s. Commits wake the relay at once through migration 0004's NOTIFY: on a server
   * over LISTEN, on PGlite through its in-process `listen` (without one, PGlite is polled every 100 ms).
   */
  pollMs?: number;
  batchSize?: number;
  /**
   * Passes of a sink start at least this far apart (default 0): while commits come faster than that, each pass
   * takes all of them, instead of one pass per commit (OUTBOX_RELAY_MIN_INTERVAL_MS).
   */
  minIntervalMs?: number;
}

export interface OutboxRelay {
  /** Drain now (a notification does this on PostgreSQL). */
  kick(): void;
  /** True while this process is the active relay. */
  isActive(): boolean;
  /** Resolves once everything committed before the call has gone through both sinks, or the attempt failed. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

/** One batch of a sink through `db`; true when there may be more. */
type Batch = (db: Db) => Promise<boolean>;

type Serial = ReturnType<typeof oneNumberingAtATime>;

function socketBatch(publish: SocketSink, options: RelayOptions, batchSize: number, serial: Serial): Batch {
  const { logger, clock } = options;
  return async (db) => {
    // The eventIds and the staff feed's numbers are given as the rows are read, before the emit, so a replay from
    // the table finds what was sent live.
    const rows = await serial(() => listUnpublishedForSockets(db, batchSize));
    const events: RealtimeEvent[] = [];
    const staff: RealtimeEvent[] = [];
    for (const row of rows) {
      const event = toRealtimeEvent(row);
      if (event === null) {
        logger.error({ outboxId: row.id }, 'outbox payload has the wrong shape: not sent to sockets');
        continue;
      }
      events.push(event);
      staff.push(staffCopy(event, row.staff_seq));
    }
    // The staff feed's numbers follow row id order; the batch may have moved a user's rows (eventId order).
    staff.sort((a, b) => a.eventId - b.eventId);
    publish(events, staff);
    await markPublished(
      db,
      'socket',
      rows.map((r) => r.id),
      clock.now(),
    );
    return rows.length === batchSize;
  };
}

function amqpBatch(amqp: AmqpPublisher, options: RelayOptions, batchSize: number, serial: Serial): Batch {
  return async (db) => {
    await serial(() => numberEvents(db, batchSize));
    const rows = await listUnpublished(db, 'amqp', batchSize);
    const confirmed = await amqp.publish(
      rows.map((r) => ({ id: r.id, type: r.type, userId: r.user_id, eventId: r.event_id, payload: r.payload })),
    );
    await markPublished(db, 'amqp', confirmed, options.clock.now());
    return confirmed.length === batchSize;
  };
}

/**
 * One numbering at a time: both sinks' loops number rows (the sockets' read numbers what it reads, RabbitMQ's batch
 * calls numberEvents first), and two numberings at once could both number a row. Only the active relay's connection
 * runs them.
 */
function oneNumberingAtATime(): <T>(numbering: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return (numbering) => {
    const run = last.then(numbering);
    last = run.catch(() => {});
    return run;
  };
}

/** The configured sinks' batches. A sink that is not configured has no loop (it would cost a statement a wake-up). */
function sinkBatches(options: RelayOptions, batchSize: number): [Sink, Batch][] {
  const serial = oneNumberingAtATime();
  const { publishToSockets, amqp } = options;
  const batches: [Sink, Batch][] = [];
  if (publishToSockets !== undefined)
    batches.push(['socket', socketBatch(publishToSockets, options, batchSize, serial)]);
  if (amqp !== undefined) batches.push(['amqp', amqpBatch(amqp, options, batchSize, serial)]);
  return batches;
}

/**
 * Sends committed outbox rows to Socket.IO and RabbitMQ, in id order, and marks each sink's rows after it
 * accepted them (RabbitMQ: after the publisher confirm). A failure marks nothing, so the rows go again:
 * at least once. Each sink drains on its own loop, so a broker that is down never holds back the sockets.
 */
export function startOutboxRelay(options: RelayOptions): OutboxRelay {
  const { database, logger } = options;
  const batchSize = options.batchSize ?? 200;
  const pollMs = options.pollMs ?? 1_000;
  let isStopped = false;
  let isLeader = false;
  const wakeIfLeader = (): void => {
    if (isLeader) kick();
  };

  const leadership: RelayLeadership =
    database.kind === 'postgres' && database.url !== undefined
      ? // A standby does not try the lock on each NOTIFY (every commit): it tries at each poll.
        serverLeadership(database.url, logger, wakeIfLeader, database.notifySource)
      : embeddedLeadership(database);
  // Every commit of this process that appended wakes the relay at once (other processes' commits: the LISTEN above).
  const unsubscribe = database.signals.on('outbox', wakeIfLeader);
  // While active here, no other process's relay acts on a NOTIFY (a standby tries the lock at its poll): none is sent.
  const withdraw = database.signals.handleHere('outbox', () => isLeader && !isStopped);

  const becomeLeader = async (): Promise<boolean> => {
    try {
      const active = await leadership.acquire();
      if (active !== isLeader) logger.info({ active }, 'outbox relay leadership changed');
      isLeader = active;
    } catch (error) {
      if (isLeader) logger.warn({ err: error }, 'outbox relay cannot reach the database');
      isLeader = false;
    }
    return isLeader;
  };

  /** A sink's loop: each pass drains it batch after batch; a wake while busy makes it go round once more. */
  const sinkLoop = (sink: Sink, batch: Batch): WakeableLoop => {
    let lastError = '';
    return createWakeableLoop({
      idleMs: pollMs,
      minIntervalMs: options.minIntervalMs,
      onError: (error) => logger.error({ err: error, sink }, 'outbox relay pass failed'),
      pass: async () => {
        if (isStopped || !(await becomeLeader())) return false;
        try {
          while (!isStopped && (await batch(leadership.executor()))) continue;
          lastError = '';
        } catch (error) {
          // One line per distinct failure, not one per poll while a broker is down.
          const text = error instanceof Error ? error.message : String(error);
          if (text !== lastError) logger.warn({ err: error, sink }, 'outbox relay attempt failed: will retry');
          lastError = text;
        }
        return false;
      },
    });
  };
  const loops = sinkBatches(options, batchSize).map(([sink, batch]) => sinkLoop(sink, batch));

  function kick(): void {
    if (!isStopped) for (const loop of loops) loop.wake();
  }
  const runAll = () => Promise.all(loops.map((loop) => loop.runPass()));
  for (const loop of loops) loop.start();

  return {
    kick,
    isActive: () => !isStopped && leadership.isActive(),
    async drain() {
      // A pass already running may have read before the caller's commit: wait for it, then run one more.
      await runAll();
      await runAll();
    },
    async stop() {
      isStopped = true;
      unsubscribe();
      withdraw();
      await Promise.all(loops.map((loop) => loop.stop()));
      await leadership.close();
    },
  };
}
