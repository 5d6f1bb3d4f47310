import type { Logger } from '../../observability/logger.ts';
import { laneIndex } from './inbox-batch.ts';
import type { InboxRow } from './inbox.repository.ts';

/**
 * The worker's lanes (issue 11). Claimed rows wait in the lane of their key (`laneOf`: one payment's events) and each
 * lane applies what waits in it — one chunk, one transaction, at a time — while the worker goes on claiming. So an
 * event claimed while other lanes are busy is not held back until every lane of the claim before it has finished
 * (the claim → all lanes → claim cycle this replaced), and one payment's events still never run in two transactions
 * at once: a key maps to one lane across claims, and a lane applies its rows in the order they were claimed.
 */
export interface InboxLanes {
  /** Queues claimed rows in their lanes and starts the idle lanes; returns at once. */
  add(leaseId: string, rows: readonly InboxRow[]): void;
  /** Rows queued or being applied. */
  inFlight(): number;
  /** Resolves once fewer than `limit` rows are in flight. */
  roomBelow(limit: number): Promise<void>;
  /** Resolves once every lane has applied everything it was given. */
  idle(): Promise<void>;
}

export interface LaneOptions {
  lanes: number;
  /** Applies one chunk of rows claimed under one lease (the worker's processChunk); its failures are only logged. */
  apply: (leaseId: string, rows: InboxRow[]) => Promise<unknown>;
  laneOf: ((row: InboxRow) => string | undefined) | undefined;
  /** Rows one chunk (one transaction) takes at most. */
  maxChunk: number;
  logger: Logger;
}

interface Lane {
  queue: { leaseId: string; row: InboxRow }[];
  busy: boolean;
}

export function createInboxLanes(options: LaneOptions): InboxLanes {
  const count = Math.max(1, options.lanes);
  const lanes: Lane[] = Array.from({ length: count }, () => ({ queue: [], busy: false }));
  let inFlight = 0;
  let spread = 0; // rows without a key go round the lanes
  let waiting: (() => void)[] = [];

  const changed = () => {
    const woken = waiting;
    waiting = [];
    for (const resolve of woken) resolve();
  };
  const until = async (holds: () => boolean) => {
    while (!holds()) await new Promise<void>((resolve) => waiting.push(resolve));
  };

  async function run(lane: Lane): Promise<void> {
    lane.busy = true;
    try {
      while (lane.queue.length > 0) {
        // One chunk: the rows at the head of the queue that one claim (one lease) took.
        const { leaseId } = lane.queue[0]!;
        let n = 1;
        while (n < lane.queue.length && n < options.maxChunk && lane.queue[n]!.leaseId === leaseId) n += 1;
        const chunk = lane.queue.splice(0, n).map((queued) => queued.row);
        try {
          await options.apply(leaseId, chunk);
        } catch (error) {
          // Recording a failure failed too (the database is gone): the rows stay leased and are claimed again
          // once the lease runs out.
          options.logger.error({ err: error, rows: chunk.length }, 'inbox lane failed: its rows are retried later');
        }
        inFlight -= n;
        changed();
      }
    } finally {
      lane.busy = false;
    }
  }

  return {
    add(leaseId, rows) {
      for (const row of rows) {
        const key = options.laneOf?.(row);
        const index = key === undefined ? spread++ % count : laneIndex(key, count);
        lanes[index]!.queue.push({ leaseId, row });
        inFlight += 1;
      }
      for (const lane of lanes) if (!lane.busy && lane.queue.length > 0) void run(lane);
    },
    inFlight: () => inFlight,
    roomBelow: (limit) => until(() => inFlight < limit),
    idle: () => until(() => inFlight === 0),
  };
}
