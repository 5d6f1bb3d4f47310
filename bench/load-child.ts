// The load generator's process (forked by bench/load.ts): autocannon for closed-loop rows, a paced open-loop
// sender for the webhook rows at a fixed rate. Each job reports its own CPU share (process.cpuUsage over the
// job's wall time), so a row shows whether the generator could have been what limited it.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import autocannon from 'autocannon';
import { signatureHeader } from './events.ts';
import { nowMs, summarize, type Summary } from './lib.ts';

export type RequestSpec =
  | { type: 'get'; paths: string[] }
  /** POST /api/v1/orders: customer `i % tokens`, products taken in turn, a fresh Idempotency-Key each time. */
  | { type: 'order'; tokens: string[]; products: string[]; lines: number }
  /** POST /api/v1/webhooks/stripe: the raw events of a JSON file (an array of strings) in order, signed when sent. */
  | { type: 'events'; file: string; secret: string };

export type Job =
  | {
      kind: 'cannon';
      url: string;
      connections: number;
      duration?: number;
      amount?: number;
      /** Requests a second over all connections (autocannon's overallRate: each second's share sent at its start). */
      overallRate?: number;
      request: RequestSpec;
    }
  /** Every payment's events (a JSON file: string[][]) posted together, `rate` payments a second, open loop. */
  | { kind: 'paced'; url: string; rate: number; file: string; secret: string; warm: number };

export interface LoadResult {
  ok: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
  /** 2xx answers per second of the run. */
  rps: number;
  p50: number;
  p99: number;
  seconds: number;
  /** The generator's CPU time over the wall time of the job (1 = one core busy). */
  cpuShare: number;
  startedAt: number;
  endedAt: number;
  /**
   * paced: when each payment's first event was sent (nowMs), the warm-up's included, and the rate achieved; p50 and
   * p99 are of the answers after the warm-up.
   */
  sentAt?: number[];
  sendRate?: number;
}

function setupFor(spec: RequestSpec): (req: any) => any {
  let n = 0;
  switch (spec.type) {
    case 'get':
      return (req) => ({ ...req, method: 'GET', path: spec.paths[n++ % spec.paths.length] });
    case 'order':
      return (req) => {
        const i = n++;
        const items = Array.from({ length: spec.lines }, (_, l) => ({
          productId: spec.products[(i * spec.lines + l) % spec.products.length],
          quantity: 1,
        }));
        return {
          ...req,
          method: 'POST',
          path: '/api/v1/orders',
          headers: {
            ...req.headers,
            'content-type': 'application/json',
            authorization: `Bearer ${spec.tokens[i % spec.tokens.length]}`,
            'idempotency-key': randomUUID(),
          },
          body: JSON.stringify({ items }),
        };
      };
    case 'events': {
      const events = JSON.parse(readFileSync(spec.file, 'utf8')) as string[];
      return (req) => {
        const payload = events[n++ % events.length]!;
        return {
          ...req,
          method: 'POST',
          path: '/api/v1/webhooks/stripe',
          headers: {
            ...req.headers,
            'content-type': 'application/json',
            'stripe-signature': signatureHeader(payload, spec.secret, Math.floor(Date.now() / 1000)),
          },
          body: payload,
        };
      };
    }
  }
}

async function cannon(job: Extract<Job, { kind: 'cannon' }>): Promise<Omit<LoadResult, 'cpuShare'>> {
  const startedAt = nowMs();
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    ...(job.amount === undefined ? { duration: job.duration ?? 10 } : { amount: job.amount }),
    ...(job.overallRate === undefined ? {} : { overallRate: job.overallRate }),
    requests: [{ setupRequest: setupFor(job.request) }],
    timeout: 30,
  });
  const endedAt = nowMs();
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0;
  const ok = Object.entries(statusCodes)
    .filter(([code]) => code.startsWith('2'))
    .reduce((a, [, c]) => a + c, 0);
  const seconds = (endedAt - startedAt) / 1000;
  return {
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    statusCodes,
    rps: ok / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    seconds,
    startedAt,
    endedAt,
  };
}

function post(agent: http.Agent, url: URL, payload: string, secret: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'stripe-signature': signatureHeader(payload, secret, Math.floor(Date.now() / 1000)),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(payload);
  });
}

async function paced(job: Extract<Job, { kind: 'paced' }>): Promise<Omit<LoadResult, 'cpuShare'>> {
  const payments = JSON.parse(readFileSync(job.file, 'utf8')) as string[][];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const url = new URL('/api/v1/webhooks/stripe', job.url);
  const sentAt: number[] = [];
  const acks: number[] = [];
  const statusCodes: Record<string, number> = {};
  const running: Promise<void>[] = [];
  const startedAt = nowMs();
  for (let i = 0; i < payments.length; i += 1) {
    const wait = startedAt + (i * 1000) / job.rate - nowMs();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    sentAt.push(nowMs());
    // As the sandbox sends them: every event of the payment at once, in its order, each on its own request.
    // The first `warm` payments' answers are not counted (nor are they in `sentAt`'s measured part: see benchPaced).
    const counted = i >= job.warm;
    for (const payload of payments[i]!) {
      const t0 = nowMs();
      running.push(
        post(agent, url, payload, job.secret).then((status) => {
          if (counted) acks.push(nowMs() - t0);
          statusCodes[status] = (statusCodes[status] ?? 0) + 1;
        }),
      );
    }
  }
  const lastSent = nowMs();
  await Promise.all(running);
  const endedAt = nowMs();
  agent.destroy();
  const ok = Object.entries(statusCodes)
    .filter(([code]) => code.startsWith('2'))
    .reduce((a, [, c]) => a + c, 0);
  const s: Summary | undefined = acks.length === 0 ? undefined : summarize(acks);
  const seconds = (endedAt - startedAt) / 1000;
  return {
    ok,
    // Every answer, the warm-up's included: a failure is never hidden.
    non2xx: Object.values(statusCodes).reduce((a, c) => a + c, 0) - ok - (statusCodes['0'] ?? 0),
    errors: statusCodes['0'] ?? 0,
    statusCodes,
    rps: ok / seconds,
    p50: s?.p50 ?? NaN,
    p99: s?.p99 ?? NaN,
    seconds,
    startedAt,
    endedAt,
    sentAt,
    sendRate: payments.length / Math.max((lastSent - startedAt) / 1000 + 1 / job.rate, 1e-3),
  };
}

async function run(job: Job): Promise<LoadResult> {
  const cpu0 = process.cpuUsage();
  const t0 = nowMs();
  const result = job.kind === 'cannon' ? await cannon(job) : await paced(job);
  const cpu = process.cpuUsage(cpu0);
  return { ...result, cpuShare: (cpu.user + cpu.system) / 1000 / (nowMs() - t0) };
}

process.on('message', (message: { id: number; job: Job }) => {
  run(message.job).then(
    (result) => process.send!({ id: message.id, result }),
    (error: unknown) => process.send!({ id: message.id, error: String((error as Error)?.stack ?? error) }),
  );
});
process.on('disconnect', () => process.exit(0));
