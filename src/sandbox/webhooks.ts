import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Core } from './core.ts';
import { renderEvent } from './events.ts';
import type { DeliveryLogEntry, DeliveryState, EventRecord } from './state.ts';

export const webhookUserAgent = 'Stripe/1.0 (+https://stripe.com/docs/webhooks)';
const maxLogEntries = 10_000;

/** Stripe's scheme: `t=<unix>,v1=<hex HMAC-SHA256 of "t.payload" keyed with the whole whsec_ secret>`. */
export function signatureHeader(payload: string, secret: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

interface PostResult {
  statusCode: number | null;
  error: string | null;
  aborted: boolean;
}

function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number, signal: AbortSignal) {
  return new Promise<PostResult>((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve({ statusCode: null, error: `invalid webhook URL ${url}`, aborted: false });
      return;
    }
    const client = target.protocol === 'https:' ? https : http;
    // No keep-alive agent: a pooled socket would keep the receiving server (and tests) from closing.
    const req = client.request(target, { method: 'POST', headers, agent: false, signal, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve({ statusCode: res.statusCode ?? null, error: null, aborted: false });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ statusCode: null, error: err.message, aborted: signal.aborted }));
    req.end(body);
  });
}

export interface WebhookConfig {
  url: string | null;
  /** Events made while `url` is null are kept pending for the endpoint set later, not only listed. */
  holdUntilEndpoint: boolean;
  secret: string;
  retryDelaysMs: number[];
  timeoutMs: number;
}

export interface Webhooks {
  config: WebhookConfig;
  onEvent(record: EventRecord): void;
  /** Sends everything waiting (fault holds, retries not yet due) now; resolves when sent. */
  flush(): Promise<number>;
  /** After a restart or a new endpoint: picks the undelivered events up again. */
  resume(): void;
  close(): void;
}

export function createWebhooks(core: Core, config: WebhookConfig): Webhooks {
  const inFlight = new Map<string, Promise<void>>();
  const controller = new AbortController();
  let closed = false;

  const log = (entry: Omit<DeliveryLogEntry, 'at' | 'url'>, atMs = core.now()) => appendLog(core, config, entry, atMs);
  const send = (d: DeliveryState, record: EventRecord) => sendEvent(core, config, controller.signal, d, record);

  function schedule(d: DeliveryState, dueAt: number): void {
    d.nextAttemptAt = dueAt;
    core.scheduler.at(`deliver:${d.eventId}`, dueAt, () => void attempt(d.eventId));
  }

  function attempt(eventId: string): Promise<void> {
    const running = inFlight.get(eventId);
    if (running !== undefined) return running;
    const d = core.state.deliveries.get(eventId);
    const record = core.state.eventsById.get(eventId);
    if (closed || d === undefined || record === undefined || d.status !== 'pending') return Promise.resolve();
    // No endpoint (a restart without one): the delivery waits, pending, for setWebhookEndpoint.
    if (config.url === null) return Promise.resolve();
    core.scheduler.cancel(`deliver:${eventId}`);
    const p = run(d, record).finally(() => inFlight.delete(eventId));
    inFlight.set(eventId, p);
    return p;
  }

  const deliverer: Deliverer = { core, config, isClosed: () => closed, send, log, schedule };
  const run = (d: DeliveryState, record: EventRecord) => deliver(deliverer, d, record);

  const { hold, releaseReordered } = createHolds(core, schedule, attempt);

  return {
    config,
    onEvent(record) {
      if (closed || (config.url === null && !config.holdUntilEndpoint)) return;
      // Without an endpoint yet (holdUntilEndpoint) the delivery is kept pending exactly like one that
      // is waiting for a retry: attempt() leaves it alone until setWebhookEndpoint resumes it.
      const { faults } = core;
      const d = newDelivery(core, record);
      core.state.deliveries.set(d.eventId, d);
      if (faults.dropRate > 0 && core.random() < faults.dropRate) {
        d.status = 'dropped';
        log(droppedEntry(d.eventId, record.event.type));
        return;
      }
      hold(d);
    },
    async flush() {
      if (config.url === null) return 0;
      let count = await releaseReordered();
      for (const id of waitingInOrder(core, inFlight)) {
        await attempt(id);
        count++;
      }
      await Promise.allSettled([...inFlight.values()]);
      return count;
    },
    resume() {
      for (const d of core.state.deliveries.values()) {
        if (d.status !== 'pending' || inFlight.has(d.eventId)) continue;
        if (d.hold === 'reorder') hold(d);
        else schedule(d, d.nextAttemptAt ?? core.now());
      }
    },
    close() {
      closed = true;
      controller.abort();
    },
  };
}

function appendLog(core: Core, config: WebhookConfig, entry: Omit<DeliveryLogEntry, 'at' | 'url'>, atMs: number): void {
  core.state.deliveryLog.push({ ...entry, at: new Date(atMs).toISOString(), url: config.url });
  if (core.state.deliveryLog.length > maxLogEntries) core.state.deliveryLog.splice(0, 1000);
}

function droppedEntry(eventId: string, type: string): Omit<DeliveryLogEntry, 'at' | 'url'> {
  return {
    eventId,
    type,
    attempt: 1,
    statusCode: null,
    duplicate: false,
    dropped: true,
    error: 'dropped by fault injection',
    nextRetryAt: null,
  };
}

/** The wait after failed attempt n (1-based): the schedule's nth delay, then its last one, forever. */
function retryDelay(config: WebhookConfig, attempts: number): number {
  const delays = config.retryDelaysMs;
  return delays[Math.min(attempts, delays.length) - 1] ?? 0;
}

/** One signed POST of the event (its signature possibly aged by the fault), after its change is saved. */
async function sendEvent(
  core: Core,
  config: WebhookConfig,
  signal: AbortSignal,
  d: DeliveryState,
  record: EventRecord,
): Promise<PostResult> {
  if (config.url === null) return { statusCode: null, error: 'no webhook endpoint', aborted: false };
  // An event is told to nobody before the change it reports is in the data file: a sandbox killed meanwhile
  // must not leave Fulcrum with a payment the restarted sandbox has never heard of (as Stripe never would).
  try {
    await core.durable();
  } catch {
    return { statusCode: null, error: 'the change is not saved yet', aborted: false };
  }
  const payload = JSON.stringify({ ...renderEvent(core, record), pending_webhooks: 1 }, null, 2);
  const timestamp = Math.floor(core.now() / 1000) - (d.signatureAgeSeconds ?? 0);
  return post(
    config.url,
    payload,
    {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(payload)),
      'User-Agent': webhookUserAgent,
      Accept: '*/*; q=0.5, application/xml',
      'Cache-Control': 'no-cache',
      'Stripe-Signature': signatureHeader(payload, config.secret, timestamp),
    },
    config.timeoutMs,
    signal,
  );
}

/** What one delivery needs of its webhooks instance. */
interface Deliverer {
  core: Core;
  config: WebhookConfig;
  isClosed: () => boolean;
  send: (d: DeliveryState, record: EventRecord) => Promise<PostResult>;
  log: (entry: Omit<DeliveryLogEntry, 'at' | 'url'>, atMs?: number) => void;
  schedule: (d: DeliveryState, dueAt: number) => void;
}

/**
 * One attempt: a 2xx ends the delivery, anything else schedules the next (no giving up); the first attempt
 * also sends the duplicates the fault asked for.
 */
async function deliver(w: Deliverer, d: DeliveryState, record: EventRecord): Promise<void> {
  const { core, config, send, log, schedule } = w;
  const type = record.event.type;
  const result = await send(d, record);
  if (result.aborted || w.isClosed()) return; // shutting down: stays pending, resumed after a restart
  d.hold = null;
  d.attempts += 1;
  const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
  const at = core.now();
  if (ok) {
    d.status = 'succeeded';
    d.nextAttemptAt = null;
  } else {
    // No giving up: past the end of the schedule the last delay repeats until a 2xx.
    schedule(d, at + retryDelay(config, d.attempts));
  }
  const nextRetryAt = d.nextAttemptAt === null ? null : new Date(d.nextAttemptAt).toISOString();
  const base = { eventId: d.eventId, type, duplicate: false, dropped: false };
  log({ ...base, attempt: d.attempts, statusCode: result.statusCode, error: result.error, nextRetryAt }, at);
  core.changed();
  if (d.attempts === 1) {
    for (let i = 0; i < d.duplicates && !w.isClosed(); i++) {
      const copy = await send(d, record);
      if (copy.aborted || w.isClosed()) return;
      log({
        ...base,
        duplicate: true,
        attempt: 1,
        statusCode: copy.statusCode,
        error: copy.error,
        nextRetryAt: null,
      });
    }
  }
}

function newDelivery(core: Core, record: EventRecord): DeliveryState {
  const { faults } = core;
  return {
    eventId: record.event.id,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: null,
    hold: null,
    duplicates: faults.duplicate,
    ...(faults.signatureAgeSeconds > 0 ? { signatureAgeSeconds: faults.signatureAgeSeconds } : {}),
  };
}

/** Pending deliveries not being sent, in the order their events happened. */
function waitingInOrder(core: Core, inFlight: ReadonlyMap<string, Promise<void>>): string[] {
  return [...core.state.deliveries.values()]
    .filter((d) => d.status === 'pending' && !inFlight.has(d.eventId))
    .map((d) => d.eventId)
    .sort((a, b) => (core.state.eventsById.get(a)?.seq ?? 0) - (core.state.eventsById.get(b)?.seq ?? 0));
}

/**
 * The fault holds: `reorder` gathers deliveries for a window and sends them newest first; `delayMs` holds each
 * one; without a fault a delivery is due now.
 */
function createHolds(
  core: Core,
  schedule: (d: DeliveryState, dueAt: number) => void,
  attempt: (eventId: string) => Promise<void>,
) {
  let reorderBatch: string[] = [];
  const releaseReordered = async (): Promise<number> => {
    core.scheduler.cancel('reorder');
    const batch = reorderBatch.reverse();
    reorderBatch = [];
    for (const id of batch) await attempt(id);
    return batch.length;
  };
  const hold = (d: DeliveryState): void => {
    const { faults } = core;
    if (faults.reorder) {
      d.hold = 'reorder';
      d.nextAttemptAt = null;
      if (!reorderBatch.includes(d.eventId)) reorderBatch.push(d.eventId);
      if (!core.scheduler.has('reorder')) {
        core.scheduler.at('reorder', core.now() + faults.reorderWindowMs, () => void releaseReordered());
      }
    } else if (faults.delayMs > 0) {
      d.hold = 'delay';
      schedule(d, core.now() + faults.delayMs);
    } else {
      schedule(d, core.now());
    }
  };
  return { hold, releaseReordered };
}
