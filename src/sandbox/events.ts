import { nowSeconds, noRequest } from './core.ts';
import type { Core, RequestInfo } from './core.ts';
import { invalidParam, resourceMissing } from './errors.ts';
import { child, optionalArray, optionalBoolean, optionalInteger, optionalString, rejectUnknown } from './params.ts';
import type { Params } from './params.ts';
import type { EventRecord } from './state.ts';
import { API_VERSION } from './types.ts';
import type { StripeEvent } from './types.ts';
import { deepClone, randomId } from './util.ts';
import type { JsonObject } from './util.ts';

export function emitEvent(
  core: Core,
  type: string,
  object: JsonObject,
  opts: { previous?: JsonObject; request?: RequestInfo } = {},
): EventRecord {
  const event: StripeEvent = {
    id: randomId('evt', 24),
    object: 'event',
    api_version: API_VERSION,
    created: nowSeconds(core),
    data: { object: deepClone(object) },
    livemode: false,
    pending_webhooks: 0,
    request: { ...(opts.request ?? noRequest) },
    type,
  };
  if (opts.previous !== undefined) event.data.previous_attributes = deepClone(opts.previous);
  const record: EventRecord = { event, seq: core.state.nextSeq++ };
  core.state.events.push(record);
  core.state.eventsById.set(event.id, record);
  core.onEvent(record);
  core.changed();
  return record;
}

/**
 * The event as the API shows it now. `pending_webhooks` is, as Stripe documents it, the number of
 * webhooks not successfully delivered yet (still being retried, or held for an endpoint).
 */
export function renderEvent(core: Core, record: EventRecord): StripeEvent {
  const status = core.state.deliveries.get(record.event.id)?.status;
  return { ...record.event, pending_webhooks: status === 'pending' ? 1 : 0 };
}

export function retrieveEvent(core: Core, id: string, params: Params): StripeEvent {
  rejectUnknown(params, ['expand']);
  const record = core.state.eventsById.get(id);
  if (record === undefined) throw resourceMissing('event', id, 'id');
  return renderEvent(core, record);
}

const retentionSeconds = 30 * 24 * 3600;

function typeMatcher(pattern: string): (type: string) => boolean {
  if (!pattern.includes('*')) return (type) => type === pattern;
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
  return (type) => re.test(type);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function createdFilter(params: Params): (created: number) => boolean {
  const c = params.created;
  if (c === undefined || c === '') return () => true;
  if (typeof c === 'string') {
    const exact = optionalInteger(c, 'created');
    return (created) => created === exact;
  }
  if (Array.isArray(c)) throw invalidParam('created', 'Invalid integer');
  rejectUnknown(c, ['gt', 'gte', 'lt', 'lte'], 'created');
  const gt = optionalInteger(c.gt, 'created[gt]');
  const gte = optionalInteger(c.gte, 'created[gte]');
  const lt = optionalInteger(c.lt, 'created[lt]');
  const lte = optionalInteger(c.lte, 'created[lte]');
  return (created) =>
    (gt === undefined || created > gt) &&
    (gte === undefined || created >= gte) &&
    (lt === undefined || created < lt) &&
    (lte === undefined || created <= lte);
}

/** `GET /v1/events`: newest first, Stripe's cursor semantics. */
export interface EventList {
  object: 'list';
  data: StripeEvent[];
  has_more: boolean;
  url: string;
}

export function listEvents(core: Core, params: Params): EventList {
  rejectUnknown(params, [
    'created',
    'type',
    'types',
    'limit',
    'starting_after',
    'ending_before',
    'delivery_success',
    'expand',
  ]);
  const limit = optionalInteger(params.limit, 'limit', 1, 100) ?? 10;
  const type = optionalString(params.type, 'type');
  const typesRaw = optionalArray(params.types, 'types');
  if (type !== undefined && typesRaw !== undefined) {
    throw invalidParam('type', 'You may only specify one of these parameters: type, types.');
  }
  const types = (typesRaw ?? []).map((t, i) => {
    if (typeof t !== 'string') throw invalidParam(child('types', i), 'Invalid string');
    return t;
  });
  if (types.length > 20) throw invalidParam('types', 'You may pass at most 20 event types.');
  const matchers = (type !== undefined ? [type] : types).map(typeMatcher);
  const startingAfter = optionalString(params.starting_after, 'starting_after');
  const endingBefore = optionalString(params.ending_before, 'ending_before');
  if (startingAfter !== undefined && endingBefore !== undefined) {
    throw invalidParam('ending_before', 'You may only specify one of these parameters: ending_before, starting_after.');
  }
  const deliverySuccess = optionalBoolean(params.delivery_success, 'delivery_success');
  const inCreated = createdFilter(params);
  const oldest = nowSeconds(core) - retentionSeconds;

  const cursorSeq = (id: string | undefined, param: string): number | undefined => {
    if (id === undefined) return undefined;
    const record = core.state.eventsById.get(id);
    if (record === undefined) throw resourceMissing('event', id, param, 400);
    return record.seq;
  };
  const afterSeq = cursorSeq(startingAfter, 'starting_after');
  const beforeSeq = cursorSeq(endingBefore, 'ending_before');

  const delivered = (id: string): boolean => {
    const status = core.state.deliveries.get(id)?.status;
    return status !== 'pending';
  };
  const matches = (r: EventRecord): boolean =>
    r.event.created >= oldest &&
    inCreated(r.event.created) &&
    (matchers.length === 0 || matchers.some((m) => m(r.event.type))) &&
    (deliverySuccess === undefined || delivered(r.event.id) === deliverySuccess);

  // core.state.events is in creation order (oldest first).
  let page: EventRecord[];
  let hasMore: boolean;
  if (beforeSeq !== undefined) {
    const newer = core.state.events.filter((r) => r.seq > beforeSeq && matches(r));
    page = newer.slice(0, limit).reverse();
    hasMore = newer.length > limit;
  } else {
    const older: EventRecord[] = [];
    for (let i = core.state.events.length - 1; i >= 0 && older.length <= limit; i--) {
      const r = core.state.events[i];
      if (r === undefined || (afterSeq !== undefined && r.seq >= afterSeq)) continue;
      if (matches(r)) older.push(r);
    }
    page = older.slice(0, limit);
    hasMore = older.length > limit;
  }
  return {
    object: 'list',
    data: page.map((r) => renderEvent(core, r)),
    has_more: hasMore,
    url: '/v1/events',
  };
}
