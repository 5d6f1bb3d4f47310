import type { Core } from './core.ts';
import { invalidParam } from './errors.ts';
import { deepClone } from './util.ts';
import type { JsonObject, JsonValue } from './util.ts';

interface Expandable {
  /** The object type the field expands to, for nested paths (`payment_intent.latest_charge`). */
  target: string;
  load(core: Core, parent: JsonObject): JsonValue;
}

function byId(load: (core: Core, id: string) => JsonObject | undefined, field: string) {
  return (core: Core, parent: JsonObject): JsonValue => {
    const id = parent[field];
    if (typeof id !== 'string') return id ?? null;
    return load(core, id) ?? id;
  };
}

const intent = byId((core, id) => core.state.intents.get(id)?.intent, 'payment_intent');
const charge = (field: string) => byId((core, id) => core.state.charges.get(id), field);

const fields: Record<string, Record<string, Expandable>> = {
  'checkout.session': {
    payment_intent: { target: 'payment_intent', load: intent },
    line_items: {
      target: 'list',
      load: (core, parent) => {
        const id = typeof parent.id === 'string' ? parent.id : '';
        return lineItemList(id, core.state.sessions.get(id)?.lineItems ?? []);
      },
    },
  },
  payment_intent: { latest_charge: { target: 'charge', load: charge('latest_charge') } },
  charge: { payment_intent: { target: 'payment_intent', load: intent } },
  refund: {
    charge: { target: 'charge', load: charge('charge') },
    payment_intent: { target: 'payment_intent', load: intent },
  },
};

export function lineItemList(sessionId: string, items: readonly object[]): JsonObject {
  return {
    object: 'list',
    data: deepClone(items) as JsonValue[],
    has_more: false,
    url: `/v1/checkout/sessions/${sessionId}/line_items`,
  };
}

/** Rejects paths Stripe would refuse for this object type, before anything is changed. */
export function checkExpand(objectType: string, paths: readonly string[]): void {
  for (const path of paths) {
    let type = objectType;
    for (const segment of path.split('.')) {
      const field = fields[type]?.[segment];
      if (field === undefined) throw invalidParam('expand', `This property cannot be expanded (${segment}).`);
      type = field.target;
    }
  }
}

export function applyExpand(core: Core, object: object, paths: readonly string[]): JsonObject {
  const out = deepClone(object) as JsonObject;
  for (const path of paths) expandPath(core, out, path.split('.'));
  return out;
}

function expandPath(core: Core, obj: JsonObject, segments: string[]): void {
  const [head, ...rest] = segments;
  if (head === undefined) return;
  const field = typeof obj.object === 'string' ? fields[obj.object]?.[head] : undefined;
  if (field === undefined) return;
  let value = obj[head];
  if (typeof value === 'string' || head === 'line_items') {
    value = deepClone(field.load(core, obj));
    obj[head] = value;
  }
  if (rest.length > 0 && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    expandPath(core, value, rest);
  }
}
