import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { AppError, invalid } from '../shared/errors.ts';

/** An Idempotency-Key request (idempotency.ts): its key, and what makes two requests under one key the same. */

const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/** The Idempotency-Key header: required, 1 to 255 printable ASCII characters (else 400). */
export function readKey(req: Request): string {
  const key = req.get('Idempotency-Key');
  if (key === undefined || key === '') {
    throw new AppError('invalid', 'idempotency_key_required', 'This request needs an Idempotency-Key header.');
  }
  if (!KEY_PATTERN.test(key)) {
    throw invalid(
      [{ path: 'headers.Idempotency-Key', message: 'must be 1 to 255 printable ASCII characters' }],
      'The Idempotency-Key header is not valid.',
    );
  }
  return key;
}

/** sha256 over method, path and the body with keys sorted, so `{a,b}` and `{b,a}` are the same request. */
export function fingerprintOf(method: string, route: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method}\n${route}\n${canonicalJson(body ?? null)}`)
    .digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
