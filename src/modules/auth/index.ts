import type { Database, Executor } from '../../db/database.ts';
import type { ModuleContext } from '../../http/module-context.ts';
import type { Clock } from '../../shared/clock.ts';
import type { MailQueue } from '../mail/index.ts';
import { profileRoutes, recoveryRoutes } from './account.routes.ts';
import type { SessionControl } from './accounts.ts';
import { adminUsersRoutes } from './admin-users.routes.ts';
import { authRoutes } from './auth.routes.ts';
import { createAuthService, createSessionIssuer } from './auth.service.ts';
import { createProfileService } from './profile.service.ts';
import { createRecoveryService, queueVerification } from './recovery.service.ts';
import { createLoginLimiter, type LoginLimiterOptions } from './login-limiter.ts';
import { prepareDummyHash } from './password.ts';
import { loadBlocklist } from './password-policy.ts';
import type { RateLimitStore } from './rate-limits.ts';
import { setupRoutes } from './setup.routes.ts';
import type { UserRow } from './users.repository.ts';
import { createSetupService } from './setup.service.ts';
import type { TokenService } from './tokens.ts';

export { createTokenService, type TokenService } from './tokens.ts';
export {
  withAccountCheck,
  assertAccountActive,
  assertAccountRow,
  assertEmailVerified,
  type SessionControl,
} from './accounts.ts';
export type { LoginLimiterOptions } from './login-limiter.ts';
export { createRateLimitStore, type RateLimitStore } from './rate-limits.ts';
export { can, requirePermission, permissions, type Permission } from '../../shared/permissions.ts';
export { emailSchema, newPasswordSchema, toUserDto, type UserDto } from './auth.schemas.ts';
export { resolveJwtSecret } from './secret.ts';
export { ensureAdmin, createOrPromoteAdmin } from './users.service.ts';
export { issueSetupToken, SETUP_TOKEN_TTL_MS } from './setup.service.ts';

export type AuthContext = ModuleContext<{
  database: Database;
  tokens: TokenService;
  clock: Clock;
  loginLimiter?: LoginLimiterOptions;
  rateLimits: RateLimitStore;
  sessions: SessionControl;
  /** Mails written in a request's transaction, sent later by the worker. */
  mail: MailQueue;
}>;

/** Defines the routes under /api/v1/auth, /api/v1/setup and /api/v1/admin/users. */
export function authModule(ctx: AuthContext): void {
  const { database, tokens, clock, loginLimiter, rateLimits, sessions, mail } = ctx.deps;
  const db = database.db;
  prepareDummyHash();
  // The password blocklist is decompressed ahead of the first registration; a failure surfaces there.
  loadBlocklist().catch(() => undefined);
  const limiter = createLoginLimiter(rateLimits, loginLimiter);
  const issueSession = createSessionIssuer({ tokens, clock });
  const afterRegister = (trx: Executor, user: UserRow, now: Date) =>
    queueVerification(trx, mail, user, user.email, now);
  const auth = createAuthService({ db, tokens, clock, limiter, afterRegister });
  const routes = ctx.define('/api/v1/auth');
  authRoutes(routes, auth);
  recoveryRoutes(routes, createRecoveryService({ db, clock, rateLimits, mail, sessions }));
  const profile = createProfileService({ db, clock, limiter, mail, sessions, issueSession });
  profileRoutes(routes, profile);
  const setup = createSetupService({ db, clock, issueSession });
  setupRoutes(ctx.define('/api/v1/setup'), setup);
  adminUsersRoutes(ctx.define('/api/v1/admin/users'), db, clock, sessions, profile);
}
