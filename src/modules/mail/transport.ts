import nodemailer from 'nodemailer';

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Where mails go: an SMTP server (SMTP_URL), or nowhere beyond Fulcrum's own table (kept, for the Mail tab). */
export interface MailTransport {
  readonly kind: 'smtp' | 'kept';
  /** Resolves once the server accepted the mail; throws when it refused or could not be reached. */
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** Without SMTP_URL (or with MAIL=off) a mail is "sent" by being kept: admins read it in the dashboard. */
export const keptTransport: MailTransport = {
  kind: 'kept',
  send: () => Promise.resolve(),
  close: () => undefined,
};

/** nodemailer over SMTP_URL (`smtp://user:pass@host:587`, `smtps://…:465`), one connection per mail. */
export function smtpTransport(url: string): MailTransport {
  const transporter = nodemailer.createTransport({
    url,
    // Bounded, so a silent server fails the attempt (and it is retried) instead of holding the worker.
    connectionTimeout: 20_000,
    greetingTimeout: 20_000,
    socketTimeout: 60_000,
  } as Parameters<typeof nodemailer.createTransport>[0]);
  return {
    kind: 'smtp',
    async send(mail) {
      await transporter.sendMail(mail);
    },
    close: () => transporter.close(),
  };
}
