import { z } from 'zod';
import type { UserRow } from './users.repository.ts';

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 128;

/** Trimmed and lower-cased before it is checked, stored or compared: `  Ann@Example.COM ` is `ann@example.com`. */
export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email('must be an e-mail address').max(254))
  .meta({ format: 'email', example: 'ann@example.com' });

export const newPasswordSchema = z
  .string()
  .min(PASSWORD_MIN, `must be at least ${PASSWORD_MIN} characters`)
  .max(PASSWORD_MAX, `must be at most ${PASSWORD_MAX} characters`);

export const roleSchema = z.enum(['customer', 'support', 'admin']);

export const registerBody = z.strictObject({
  email: emailSchema,
  password: newPasswordSchema,
  name: z.string().trim().min(1).max(200),
});

// Login does not re-check the password policy: a wrong password is a wrong password.
export const loginBody = z.strictObject({
  email: z.string().trim().toLowerCase().min(1).max(254),
  password: z.string().min(1).max(PASSWORD_MAX),
});

export const refreshTokenBody = z.strictObject({
  refreshToken: z.string().min(1).max(512),
});

/** PATCH /admin/users/:id: a new role, disabling or enabling the account, or both; at least one. */
export const updateUserBody = z
  .strictObject({ role: roleSchema.optional(), disabled: z.boolean().optional() })
  .refine((b) => b.role !== undefined || b.disabled !== undefined, { message: 'give role, disabled or both' });

export const passwordResetBody = z.strictObject({ email: emailSchema });
export const tokenSchema = z.string().min(1).max(512);
export const passwordResetConfirmBody = z.strictObject({ token: tokenSchema, password: newPasswordSchema });
export const verifyEmailBody = z.strictObject({ token: tokenSchema });
export const updateMeBody = z.strictObject({ name: z.string().trim().min(1).max(200) });
/** The current password is not checked against the rule (it is compared); the new one is. */
export const changePasswordBody = z.strictObject({
  currentPassword: z.string().min(1).max(PASSWORD_MAX),
  newPassword: newPasswordSchema,
});
export const changeEmailBody = z.strictObject({ email: emailSchema, password: z.string().min(1).max(PASSWORD_MAX) });
export const deleteMeBody = z.strictObject({ password: z.string().min(1).max(PASSWORD_MAX) });

export const userIdParams = z.strictObject({ id: z.string().min(1).max(64) });

export const userSchema = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: roleSchema,
  /** True while an admin has the account disabled: it cannot sign in and its tokens are refused. */
  disabled: z.boolean(),
  /** True once the address in `email` was verified (the link mailed to it was used). */
  emailVerified: z.boolean(),
  /** An address the user asked to move to (POST /auth/email): it replaces `email` once verified. */
  pendingEmail: z.string().nullable(),
  createdAt: z.string(),
});

export const userResponse = z.object({ user: userSchema });

export const sessionResponse = z.object({
  user: userSchema,
  accessToken: z.string(),
  refreshToken: z.string(),
  /** Seconds until the access token expires. */
  expiresIn: z.number().int(),
});

export type UserDto = z.infer<typeof userSchema>;
export type SessionDto = z.infer<typeof sessionResponse>;

/** The only way a user leaves the module: never the row (it holds the password hash). */
export function toUserDto(row: UserRow): UserDto {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    disabled: row.disabled_at !== null,
    emailVerified: row.email_verified_at !== null,
    pendingEmail: row.pending_email,
    createdAt: row.created_at.toISOString(),
  };
}
