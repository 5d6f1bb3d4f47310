import type { Role } from '../db/schema.ts';
import type { Actor } from './actor.ts';
import { forbidden } from './errors.ts';

export const roles: readonly Role[] = ['customer', 'support', 'admin'];

/** docs/api.md's permission table, as data: services ask `can(actor, …)`, never compare role names. */
export const permissions = {
  /** Own orders and payments. */
  own_orders: ['customer', 'support', 'admin'],
  /** Read every order, payment and webhook event. */
  read_all: ['support', 'admin'],
  products_write: ['admin'],
  ship: ['admin'],
  deliver: ['admin'],
  cancel_paid_order: ['admin'],
  refund: ['admin'],
  retry_webhook_events: ['admin'],
  change_roles: ['admin'],
  /** Disable and enable accounts (PATCH /admin/users/:id { disabled }). */
  disable_accounts: ['admin'],
  /** Delete another account, erasing its personal data (DELETE /admin/users/:id). */
  delete_accounts: ['admin'],
  /** Read every mail Fulcrum made (GET /admin/mail): they hold reset and verification links. */
  read_mail: ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof permissions;

export function can(actor: Actor, permission: Permission): boolean {
  return (permissions[permission] as readonly Role[]).includes(actor.role);
}

/** Throws 403 forbidden (with `detail` when given) unless the actor's role has the permission. */
export function requirePermission(actor: Actor, permission: Permission, detail?: string): void {
  if (!can(actor, permission)) throw forbidden(detail);
}
