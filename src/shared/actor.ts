import type { Role } from '../db/schema.ts';

/** Who is calling: services decide with this, never with HTTP details. */
export interface Actor {
  id: string;
  role: Role;
}

// What an actor may do is decided by the permission table (auth's `can`), never by its role's name.
