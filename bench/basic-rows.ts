import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, expectStatus, ms, ratio, startFulcrum, summarize, type Summary } from './lib.ts';

function row(label: string, s: Summary, baseline?: Summary): string {
  const cells = [label.padEnd(34), ms(s.mean), ms(s.p50), ms(s.p99), ms(s.max)].map((c) => c.padStart(11));
  if (baseline !== undefined) cells.push(`p50 ${ratio(s.p50, baseline.p50)}  p99 ${ratio(s.p99, baseline.p99)}`);
  return cells.join(' ');
}
const header = ['', 'mean', 'p50', 'p99', 'max'].map((c, i) => (i === 0 ? c.padEnd(34) : c.padStart(11))).join(' ');

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** `npm start` from nothing: an empty DATA_DIR (embedded database, built-in sandbox) until /readyz says 200. */
export async function benchStartup(starts: number): Promise<void> {
  const samples: number[] = [];
  for (let i = 0; i < starts; i += 1) {
    const dataDir = mkdtempSync(join(tmpdir(), 'fulcrum-bench-start-'));
    try {
      const t0 = performance.now();
      const fulcrum = await startFulcrum({ DATA_DIR: dataDir, SANDBOX_PORT: '0' });
      samples.push(performance.now() - t0);
      await fulcrum.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  console.log(`\nStart-up on an empty DATA_DIR, ${starts} times\n${header}`);
  console.log(row('spawn → /readyz 200', summarize(samples)));
}
/**
 * Password reset: `POST /auth/password-reset` for addresses with an account and without, interleaved, one at a
 * time. Both are held to the same earliest answer (RESET_ANSWER_FLOOR_MS); what matters is that the two
 * distributions match, not how fast they are. Each request names its own client address (X-Forwarded-For,
 * TRUST_PROXY=1), and each known address is asked at most 5 times, so no limit answers 429.
 */
export async function benchReset(base: string, emails: string[]): Promise<void> {
  const known: number[] = [];
  const unknown: number[] = [];
  const rounds = Math.min(100, emails.length * 5);
  for (let i = 0; i < rounds; i += 1) {
    for (const [email, samples] of [
      [emails[i % emails.length]!, known],
      [`nobody-${randomUUID().slice(0, 12)}@example.com`, unknown],
    ] as const) {
      const forwarded = `10.${(i >> 8) & 255}.${i & 255}.${samples === known ? 1 : 2}`;
      const took = await timed(async () =>
        expectStatus(
          await call(base, 'POST', '/api/v1/auth/password-reset', {
            body: { email },
            headers: { 'x-forwarded-for': forwarded },
          }),
          202,
          'password reset',
        ),
      );
      samples.push(took);
    }
  }
  const unknownSummary = summarize(unknown);
  console.log(`\nPassword reset, ${rounds} of each, interleaved, one at a time\n${header}`);
  console.log(row('address without an account', unknownSummary));
  console.log(row('address with an account', summarize(known), unknownSummary));
}
