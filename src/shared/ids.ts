import { randomBytes } from 'node:crypto';

export type IdPrefix = 'usr' | 'prd' | 'ord' | 'pay' | 'ref' | 'evt' | 'rtk' | 'whk' | 'obx' | 'idk' | 'atk' | 'eml';

const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';

/** A prefixed, URL-safe, 128-bit random id: `ord_3k9…`. Time-ordered ids are not needed: lists sort by created_at, id. */
export function newId(prefix: IdPrefix): string {
  const bytes = randomBytes(20);
  let out = '';
  for (const b of bytes) out += alphabet[b % 36];
  return `${prefix}_${out}`;
}

export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`) && id.length <= 64;
}
