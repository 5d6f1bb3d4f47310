import type { ColumnType, Generated } from 'kysely';

/** A timestamp the database fills in unless the insert gives one. */
type CreatedAt = ColumnType<Date, Date | undefined, Date>;

export type Role = 'customer' | 'support' | 'admin';

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  role: ColumnType<Role, Role | undefined, Role>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface RefreshTokensTable {
  id: string;
  user_id: string;
  family_id: string;
  token_hash: string;
  created_at: CreatedAt;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

export interface DB {
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
}

export type { Generated };
