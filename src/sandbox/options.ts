// The sandbox's options and handle, apart from index.ts so that embedded.ts can name them without a cycle.

export interface SandboxOptions {
  /** 0 picks a free port; default 12111. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * Where events are POSTed; may be set later with setWebhookEndpoint. Without it events are only
   * listed, unless holdWebhooksUntilEndpoint.
   */
  webhookUrl?: string;
  /**
   * Keep every event made while there is no endpoint as a pending delivery, sent once
   * setWebhookEndpoint is called (for an embedder that learns its endpoint only after start-up,
   * while restored timers already fire). Default false: such events are only listed.
   */
  holdWebhooksUntilEndpoint?: boolean;
  /** Signing secret (`whsec_…`); generated (and kept in dataFile) when absent. */
  webhookSecret?: string;
  /** JSON file keeping sessions, payment intents, refunds, events and undelivered webhooks across restarts. */
  dataFile?: string;
  /**
   * Delays (ms) before each webhook retry; once they are used up the last one repeats until a 2xx.
   * At least one; the last at least 1 ms.
   */
  retryDelaysMs?: number[];
  /** How long a 4000 0000 0000 3220 payment (and a failing refund) takes to settle. Default 2000. */
  asyncPaymentDelayMs?: number;
  /** Base of `session.url`; default http://host:port. */
  publicUrl?: string;
  /** Clock in ms (default Date.now): tests move it to expire sessions. */
  now?: () => number;
  /** Randomness for dropRate and apiErrorRate (default Math.random; a fault `seed` overrides it). */
  random?: () => number;
  /** Longest sleep of the timer that expires sessions and retries webhooks. Default 1000. */
  sweepIntervalMs?: number;
  /** Webhook request timeout. Default 10000. */
  webhookTimeoutMs?: number;
}

export interface Sandbox {
  url: string;
  port: number;
  /** The secret webhooks are signed with now. */
  readonly webhookSecret: string;
  setWebhookEndpoint(url: string, secret?: string): void;
  /** Stops timers and the server, aborts webhook requests in flight (kept pending), saves the data file. */
  close(): Promise<void>;
}

/**
 * A compressed version of Stripe's exponential backoff: 1 s doubling to 1 h over 12 retries (about
 * 1.8 hours), then hourly until a 2xx.
 */
export const defaultRetryDelaysMs = [
  1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000,
];

export function checkOptions(opts: SandboxOptions): void {
  const port = opts.port;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new TypeError(`sandbox: port must be an integer 0..65535, got ${port}`);
  }
  const delays = opts.retryDelaysMs;
  if (delays !== undefined) {
    if (delays.length === 0 || !delays.every((d) => Number.isFinite(d) && d >= 0)) {
      throw new TypeError('sandbox: retryDelaysMs must be one or more non-negative numbers');
    }
    // The last delay repeats until a 2xx: 0 would retry a failing endpoint in a tight loop.
    if ((delays.at(-1) ?? 0) < 1) throw new TypeError('sandbox: the last of retryDelaysMs must be at least 1 ms');
  }
  if (opts.webhookSecret === '') throw new TypeError('sandbox: webhookSecret must not be empty');
  if (opts.webhookUrl !== undefined) assertUrl(opts.webhookUrl, 'webhookUrl');
  if (opts.publicUrl !== undefined) assertUrl(opts.publicUrl, 'publicUrl');
}

export function assertUrl(value: string, what: string): void {
  if (!URL.canParse(value)) throw new TypeError(`sandbox: ${what} is not a valid URL: ${value}`);
}
