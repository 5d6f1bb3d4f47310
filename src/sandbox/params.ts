import type { ParsedQs } from 'qs';
import { invalidParam, missingParam, unknownParam } from './errors.ts';

export type Params = ParsedQs;
type Value = ParsedQs[string];

/** `line_items[0][quantity]`-style names, as Stripe reports them in `param`. */
export function child(parent: string, key: string | number): string {
  return parent === '' ? String(key) : `${parent}[${key}]`;
}

function isObject(value: Value): value is ParsedQs {
  return typeof value === 'object' && !Array.isArray(value);
}

export function rejectUnknown(params: ParsedQs, allowed: readonly string[], parent = ''): void {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key)) throw unknownParam(child(parent, key));
  }
}

export function optionalString(value: Value, param: string, maxLength = 5000): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw invalidParam(param, `Invalid string: ${JSON.stringify(value)}`);
  if (value.length > maxLength) {
    throw invalidParam(param, `Invalid string: ${value.slice(0, 20)}...; must be at most ${maxLength} characters`);
  }
  return value;
}

export function requiredString(value: Value, param: string, maxLength = 5000): string {
  const s = optionalString(value, param, maxLength);
  if (s === undefined) throw missingParam(param);
  return s;
}

export function optionalInteger(value: Value, param: string, min?: number, max?: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^-?\d{1,15}$/.test(value)) {
    throw invalidParam(param, `Invalid integer: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  const n = Number(value);
  if (min !== undefined && n < min) throw invalidParam(param, `This value must be greater than or equal to ${min}.`);
  if (max !== undefined && n > max) throw invalidParam(param, `This value must be less than or equal to ${max}.`);
  return n;
}

export function requiredInteger(value: Value, param: string, min?: number, max?: number): number {
  const n = optionalInteger(value, param, min, max);
  if (n === undefined) throw missingParam(param);
  return n;
}

export function optionalEnum<T extends string>(value: Value, param: string, allowed: readonly T[]): T | undefined {
  const s = optionalString(value, param);
  if (s === undefined) return undefined;
  const found = allowed.find((a) => a === s);
  if (found === undefined) {
    const list =
      allowed.length > 1 ? `${allowed.slice(0, -1).join(', ')}, or ${allowed[allowed.length - 1]}` : allowed.join('');
    throw invalidParam(param, `Invalid ${param}: must be one of ${list}`);
  }
  return found;
}

export function optionalBoolean(value: Value, param: string): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw invalidParam(param, `Invalid boolean: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
}

export function optionalObject(value: Value, param: string): ParsedQs | undefined {
  if (value === undefined || value === '') return undefined;
  if (!isObject(value)) throw invalidParam(param, 'Invalid object');
  return value;
}

/** qs yields an array for `x[0]=…`; an object with numeric keys only beyond `arrayLimit`. */
export function optionalArray(value: Value, param: string): (string | ParsedQs)[] | undefined {
  if (value === undefined || value === '') return undefined;
  if (!Array.isArray(value)) throw invalidParam(param, 'Invalid array');
  return value;
}

/** Stripe's metadata: ≤ 50 keys, keys ≤ 40 characters, values ≤ 500; an empty value unsets the key. */
export function metadataParam(value: Value, param = 'metadata'): Record<string, string> {
  const obj = optionalObject(value, param);
  const out: Record<string, string> = {};
  if (obj === undefined) return out;
  for (const [key, v] of Object.entries(obj)) {
    if (typeof v !== 'string') throw invalidParam(child(param, key), `Invalid string: ${JSON.stringify(v)}`);
    if (key.length > 40) {
      throw invalidParam(child(param, key), `Metadata keys can have up to 40 characters; \`${key}\` is too long.`);
    }
    if (v.length > 500) {
      throw invalidParam(child(param, key), `Metadata values can have up to 500 characters, but you passed in ${v}.`);
    }
    if (v !== '') out[key] = v;
  }
  if (Object.keys(out).length > 50) throw invalidParam(param, 'You can have up to 50 metadata keys.');
  return out;
}

export function expandParam(params: ParsedQs): string[] {
  const list = optionalArray(params.expand, 'expand') ?? [];
  return list.map((v, i) => {
    if (typeof v !== 'string') throw invalidParam(child('expand', i), 'Invalid string');
    return v;
  });
}
