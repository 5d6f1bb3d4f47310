import type { Database } from '../../db/database.ts';
import type { ModuleContext } from '../../http/module-context.ts';
import { mailRoutes } from './mail.routes.ts';

export { createMailQueue, type MailQueue, type QueuedMail } from './queue.ts';
export { keptTransport, smtpTransport, type MailTransport, type OutgoingMail } from './transport.ts';
export {
  mailOnce,
  mailFromOutbox,
  sendDueMails,
  mailBackoffMs,
  MAIL_MAX_ATTEMPTS,
  type MailWorkerDeps,
} from './mail-worker.ts';
export { renderMail, templateNames, type Shop, type TemplateName } from './templates.ts';

/** The shop as mails name it: SHOP_NAME and PUBLIC_URL. */
export function shopOf(config: { SHOP_NAME: string; PUBLIC_URL: string }): { name: string; url: string } {
  return { name: config.SHOP_NAME, url: config.PUBLIC_URL };
}

/** The sender address: MAIL_FROM, else `"<SHOP_NAME>" <no-reply@<PUBLIC_URL's host>>`. */
export function mailFromOf(config: { SHOP_NAME: string; PUBLIC_URL: string; MAIL_FROM?: string | undefined }): string {
  if (config.MAIL_FROM !== undefined) return config.MAIL_FROM;
  const host = new URL(config.PUBLIC_URL).hostname.replace(/^\[|\]$/g, '');
  const domain = host.includes('.') ? host : `${host}.localdomain`;
  return `"${config.SHOP_NAME.replaceAll('"', '')}" <no-reply@${domain}>`;
}

/** Defines the routes under /api/v1/admin/mail. */
export function mailModule(ctx: ModuleContext<{ database: Database }>): void {
  mailRoutes(ctx.define('/api/v1/admin/mail'), ctx.deps.database.db);
}
