import type { Role } from '../db/schema.ts';

/** Who is calling: services decide with this, never with HTTP details. */
export interface Actor {
  id: string;
  role: Role;
}

export const isStaff = (actor: Actor): boolean => actor.role === 'support' || actor.role === 'admin';
export const isAdmin = (actor: Actor): boolean => actor.role === 'admin';
