import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Stripe from 'stripe';
import { groupByPayment, paymentIntentOf, signatureHeader, type SandboxEvent } from '../../bench/events.ts';
import {
  failures,
  formatPaired,
  formatRow,
  formatServerSettings,
  millis,
  pairedRatio,
  percent,
  rate,
  times,
} from '../../bench/format.ts';
import { busyText, parseEventLoopDelay } from '../../bench/context.ts';
import { pacedLatencies, summarize } from '../../bench/lib.ts';
import { databaseName, parseOptions } from '../../bench/options.ts';
import { areaOf, formatProfile, summarizeProfile, type CpuProfile } from '../../bench/profile.ts';

// The bench's own logic (bench/README.md): what it computes from its measurements, not the measurements.

const root = '/repo';
const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

/** Samples of 1 ms each unless `deltas` says otherwise: ids 2 = (idle), 3 = placeOrder, 4 = parse, 5 = (garbage collector). */
function profile(samples: number[], deltas?: number[], startTime = 1_000_000): CpuProfile {
  return {
    nodes: [
      { id: 1, callFrame: frame('(root)') },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('placeOrder', `file://${root}/src/modules/orders/orders.place.ts`, 40) },
      { id: 4, callFrame: frame('parse', `file://${root}/node_modules/@electric-sql/pglite/dist/x.js`, 0) },
      { id: 5, callFrame: frame('(garbage collector)') },
    ],
    startTime,
    endTime: startTime + samples.length * 1000,
    samples,
    timeDeltas: deltas ?? samples.map(() => 1000),
  };
}

describe('the CPU profile summary', () => {
  it('ranks functions by self time, leaves idle out of the ranking and counts each sample until the next', () => {
    const s = summarizeProfile(profile([3, 3, 3, 4, 2, 2, 5, 3]), { root });
    // The last sample has no next one: it counts for nothing.
    assert.equal(s.totalMs, 7);
    assert.equal(s.idleMs, 2);
    assert.deepEqual(
      s.top.map((e) => [e.name, e.ms, e.share]),
      [
        ['placeOrder src/modules/orders/orders.place.ts:41', 3, 3 / 5],
        ['(garbage collector)', 1, 1 / 5],
        ['parse node_modules/@electric-sql/pglite/dist/x.js:1', 1, 1 / 5],
      ],
    );
    assert.deepEqual(
      s.areas.map((a) => [a.name, a.ms]),
      [
        ['src/orders', 3],
        ['(garbage collector)', 1],
        ['pkg:@electric-sql/pglite', 1],
      ],
    );
    assert.equal(s.windowMissed, false);
  });

  it('keeps only the samples inside a window on the profile clock, and says when the window missed it', () => {
    // Sample i is at startTime + (i + 1) ms.
    const p = profile([4, 4, 3, 3, 3, 4, 4, 4]);
    const inside = summarizeProfile(p, { root, fromUs: 1_002_500, toUs: 1_005_500 });
    assert.deepEqual(
      inside.top.map((e) => [e.name.split(' ')[0], e.ms]),
      [['placeOrder', 3]],
    );
    const missed = summarizeProfile(p, { root, fromUs: 5_000_000, toUs: 6_000_000 });
    assert.equal(missed.windowMissed, true);
    assert.equal(missed.totalMs, 7);
    assert.match(formatProfile('orders', missed), /the window was outside it/);
    assert.doesNotMatch(formatProfile('orders', inside), /outside/);
  });

  it('shows at most `top` functions, with their shares', () => {
    const s = summarizeProfile(profile([3, 3, 4, 5, 2]), { root, top: 1 });
    assert.equal(s.top.length, 1);
    const text = formatProfile('confirmation', s);
    assert.match(text, /^confirmation: 0\.0 s busy of 0\.0 s sampled\n/);
    assert.match(text, / 50\.0 %\s+2 ms {2}placeOrder src\/modules\/orders\/orders\.place\.ts:41/);
    assert.match(text, /by area: src\/orders 50 %/);
  });

  it('names areas by package, src directory, node, wasm and V8 pseudo-frames', () => {
    assert.equal(areaOf(`file://${root}/node_modules/kysely/dist/esm/x.js`, 'f', root), 'pkg:kysely');
    assert.equal(areaOf(`file://${root}/node_modules/@socket.io/x/y.js`, 'f', root), 'pkg:@socket.io/x');
    assert.equal(areaOf(`file://${root}/src/http/idempotency.ts`, 'f', root), 'src/http');
    assert.equal(areaOf(`file://${root}/src/app.ts`, 'f', root), 'src/app');
    assert.equal(areaOf('node:internal/streams/writable', 'f', root), 'node');
    assert.equal(areaOf('wasm://wasm/022a9842', 'wasm-function[1]', root), 'wasm');
    assert.equal(areaOf('', '(program)', root), '(program)');
    assert.equal(areaOf('', 'writev', root), 'native');
  });
});

describe('the row formatting', () => {
  it('writes rates, durations, ratios and shares', () => {
    assert.equal(rate(612.4), '612/s');
    assert.equal(rate(45_300), '45.3 k/s');
    assert.equal(rate(NaN), '–');
    assert.equal(millis(3.14159), '3.1 ms');
    assert.equal(millis(160.4), '160 ms');
    assert.equal(millis(3500), '3500 ms');
    assert.equal(millis(12_500), '12.5 s');
    assert.equal(times(600, 2000), '0.30×');
    assert.equal(times(1, 0), '–');
    assert.equal(percent(0.374), '37 %');
    assert.equal(percent(undefined), '–');
  });

  it('says a row failed rather than hiding it', () => {
    assert.equal(failures({ rps: 10, p50: 1, p99: 2 }), '');
    assert.equal(failures({ rps: 10, p50: 1, p99: 2, non2xx: 0, errors: 0 }), '');
    assert.equal(failures({ rps: 10, p50: 1, p99: 2, non2xx: 12, errors: 3 }), '  ⚠ 12 non-2xx, 3 errors');
    assert.equal(failures({ rps: 0, p50: NaN, p99: NaN }), '  ⚠ nothing completed');
  });

  it('puts the ratio to the ceiling beside both absolute figures', () => {
    const line = formatRow(
      'POST /orders, 64 clients',
      { rps: 600, p50: 80, p99: 160, cpuShare: 0.21, non2xx: 4 },
      { label: 'plain SQL ×64', rps: 2400, p50: 20, p99: 45.5 },
    );
    assert.match(line, /^POST \/orders, 64 clients\s+600\/s\s+p50 80\.0 ms\s+p99 160 ms\s+gen 21 %/);
    assert.match(line, /0\.25× of plain SQL ×64 \(2400\/s, p50 20\.0 ms, p99 45\.5 ms\)/);
    assert.match(line, /⚠ 4 non-2xx$/);
  });

  it("keeps a paced row's warm-up latencies apart from the measured ones, and leaves out what was never confirmed", () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const sentAt = [0, 5, 10, 15, 20];
    const paidAt = new Map([
      ['a', 300],
      ['b', 105],
      ['c', 30],
      ['e', 27],
    ]);
    assert.deepEqual(pacedLatencies(ids, sentAt, paidAt, 2), { warmup: [300, 100], measured: [20, 7] });
    assert.deepEqual(pacedLatencies(ids, sentAt, paidAt, 0), { warmup: [], measured: [300, 100, 20, 7] });
  });

  it("takes the median of the rounds' ratios, each to its own ceiling, leaving out a round without a figure", () => {
    const rounds = [
      { rps: 10_000, ceiling: 25_000 }, // 0.40
      { rps: 7_000, ceiling: 14_000 }, // 0.50: a slower minute moves both
      { rps: 13_000, ceiling: 28_000 }, // 0.46
    ];
    const paired = pairedRatio(rounds)!;
    assert.equal(paired.median.toFixed(2), '0.46');
    assert.deepEqual(
      paired.ratios.map((r) => r.toFixed(2)),
      ['0.40', '0.50', '0.46'],
    );
    assert.equal(pairedRatio(rounds.slice(0, 2))!.median.toFixed(2), '0.40', 'even count: the lower middle');
    assert.equal(
      pairedRatio([
        { rps: NaN, ceiling: 1 },
        { rps: 5, ceiling: 0 },
      ]),
      undefined,
    );
    assert.deepEqual(
      pairedRatio([
        { rps: 1, ceiling: 0 },
        { rps: 3, ceiling: 4 },
      ])!.ratios,
      [0.75],
    );
    assert.equal(
      formatPaired('GET /x', 'bare Express', paired),
      'GET /x: 0.46× of bare Express, the median of 3 rounds (0.40×, 0.50×, 0.46×)',
    );
    assert.equal(formatPaired('GET /x', 'bare Express', undefined), 'GET /x: no round to compare with bare Express');
  });

  it('takes nearest-rank percentiles', () => {
    const s = summarize(Array.from({ length: 100 }, (_, i) => 100 - i));
    assert.deepEqual([s.p50, s.p99, s.max, s.n], [50, 99, 100, 100]);
    assert.throws(() => summarize([]), /no samples/);
  });
});

describe('the PostgreSQL settings printed under the header', () => {
  it('names the version and each setting, sizes in MB, and marks a setting the server did not give', () => {
    const line = formatServerSettings('15.14 (Debian 15.14-0+deb12u1)', [
      { name: 'autovacuum', setting: 'off', unit: null },
      { name: 'fsync', setting: 'on', unit: null },
      { name: 'synchronous_commit', setting: 'on', unit: null },
      { name: 'shared_buffers', setting: '16384', unit: '8kB' },
      { name: 'max_wal_size', setting: '1024', unit: 'MB' },
    ]);
    assert.equal(
      line,
      'PostgreSQL 15.14 (Debian 15.14-0+deb12u1): autovacuum off, fsync on, synchronous_commit on, ' +
        'wal_compression ?, shared_buffers 128 MB, max_wal_size 1024 MB',
    );
  });
});

describe('the gateway events the webhook rows send', () => {
  it('signs with Stripe’s scheme, which the stripe SDK accepts, and a wrong secret is refused', () => {
    const payload = JSON.stringify({ id: 'evt_1', object: 'event', type: 'checkout.session.completed' });
    const secret = 'whsec_bench';
    const header = signatureHeader(payload, secret, Math.floor(Date.now() / 1000));
    const stripe = new Stripe('sk_test_x');
    assert.equal(stripe.webhooks.constructEvent(payload, header, secret).id, 'evt_1');
    assert.throws(() => stripe.webhooks.constructEvent(payload, header, 'whsec_other'));
    assert.match(signatureHeader('x', secret, 1700000000), /^t=1700000000,v1=[0-9a-f]{64}$/);
  });

  it('groups an event log into one sequence per payment, in the order the sandbox made them', () => {
    const ev = (id: string, type: string, object: SandboxEvent['data']['object']): SandboxEvent => ({
      id,
      type,
      data: { object },
    });
    const log = [
      ev('e1', 'payment_intent.created', { id: 'pi_a', object: 'payment_intent' }),
      ev('e2', 'payment_intent.created', { id: 'pi_b', object: 'payment_intent' }),
      ev('e3', 'charge.succeeded', { id: 'ch_a', object: 'charge', payment_intent: 'pi_a' }),
      ev('e4', 'customer.created', { id: 'cus_1', object: 'customer' }),
      ev('e5', 'payment_intent.succeeded', { id: 'pi_a', object: 'payment_intent' }),
      ev('e6', 'checkout.session.completed', { id: 'cs_a', object: 'checkout.session', payment_intent: 'pi_a' }),
      ev('e7', 'checkout.session.completed', { id: 'cs_b', object: 'checkout.session', payment_intent: 'pi_b' }),
    ];
    assert.equal(paymentIntentOf(log[3]!), undefined);
    const sequences = groupByPayment(log);
    assert.deepEqual(
      sequences.map((s) => [s.paymentIntent, s.sessionId, s.events.map((e) => e.id)]),
      [
        ['pi_a', 'cs_a', ['e1', 'e3', 'e5', 'e6']],
        ['pi_b', 'cs_b', ['e2', 'e7']],
      ],
    );
  });
});

describe('the bench settings', () => {
  it('runs every row but the soak by default, and the soak alone with --soak', () => {
    const all = parseOptions({}, []);
    assert.deepEqual([...all.rows], ['startup', 'catalog', 'orders', 'webhooks', 'sequences', 'drain', 'reset']);
    assert.deepEqual([all.seconds, all.payments, all.rate, all.backlog, all.soakSeconds], [10, 1000, 200, 2000, 600]);
    assert.deepEqual([...parseOptions({}, ['--soak']).rows], ['soak']);
    assert.deepEqual([...parseOptions({ BENCH_ONLY: 'orders' }, ['--soak']).rows], ['orders', 'soak']);
  });

  it('picks rows from BENCH_ONLY, shortens everything with BENCH_QUICK and refuses what it does not know', () => {
    const o = parseOptions({ BENCH_ONLY: 'catalog, drain', BENCH_QUICK: '1', BENCH_BACKLOG: '500' }, []);
    assert.deepEqual([...o.rows], ['catalog', 'drain']);
    assert.deepEqual([o.quick, o.seconds, o.payments, o.backlog], [true, 3, 200, 500]);
    assert.equal(parseOptions({ BENCH_DATABASE_URL: '' }, []).databaseUrl, undefined);
    assert.equal(databaseName(parseOptions({}, [])), 'PGlite (memory)');
    assert.equal(databaseName(parseOptions({ BENCH_PGLITE_FILES: '1' }, [])), 'PGlite (files in DATA_DIR)');
    const server = { BENCH_DATABASE_URL: 'postgres://x/y', BENCH_PGLITE_FILES: '1' };
    assert.equal(databaseName(parseOptions(server, [])), 'PostgreSQL', 'a server wins over PGlite files');
    assert.throws(() => parseOptions({ BENCH_ONLY: 'orders,everything' }, []), /unknown row everything/);
    assert.throws(() => parseOptions({ BENCH_RATE: '0' }, []), /BENCH_RATE must be a whole number ≥ 1/);
    assert.throws(() => parseOptions({ BENCH_SECONDS: 'ten' }, []), /BENCH_SECONDS/);
  });

  it('runs the HTTP rows in three rounds, one when quick, or as many as asked', () => {
    assert.equal(parseOptions({}, []).httpRounds, 3);
    assert.equal(parseOptions({ BENCH_QUICK: '1' }, []).httpRounds, 1);
    assert.equal(parseOptions({ BENCH_HTTP_ROUNDS: '5' }, []).httpRounds, 5);
    assert.throws(() => parseOptions({ BENCH_HTTP_ROUNDS: '0' }, []), /BENCH_HTTP_ROUNDS must be a whole number ≥ 1/);
  });

  it('the paced webhook rows warm up with a quarter of their payments, at least one second of them, or as asked', () => {
    assert.equal(parseOptions({}, []).warmPayments, 250, 'a quarter of 1000');
    assert.equal(parseOptions({ BENCH_QUICK: '1' }, []).warmPayments, 200, 'one second at 200/s, more than 200 / 4');
    assert.equal(parseOptions({ BENCH_PAYMENTS: '4000', BENCH_RATE: '500' }, []).warmPayments, 1000);
    assert.equal(parseOptions({ BENCH_WARM_PAYMENTS: '0' }, []).warmPayments, 0, 'none');
    assert.equal(parseOptions({ BENCH_WARM_PAYMENTS: '30' }, []).warmPayments, 30);
    assert.throws(
      () => parseOptions({ BENCH_WARM_PAYMENTS: '-1' }, []),
      /BENCH_WARM_PAYMENTS must be a whole number ≥ 0/,
    );
  });

  it('the soak asks half the peak unless BENCH_SOAK_RATE names a rate', () => {
    assert.equal(parseOptions({}, ['--soak']).soakRate, undefined);
    assert.equal(parseOptions({ BENCH_SOAK_RATE: '' }, ['--soak']).soakRate, undefined);
    assert.equal(parseOptions({ BENCH_SOAK_RATE: '300' }, ['--soak']).soakRate, 300);
    assert.throws(
      () => parseOptions({ BENCH_SOAK_RATE: '0' }, []),
      /BENCH_SOAK_RATE must be a whole number ≥ 1, not 0/,
    );
    assert.throws(() => parseOptions({ BENCH_SOAK_RATE: '2.5' }, []), /BENCH_SOAK_RATE/);
  });
});

describe('bench: the event-loop delay read from /metrics', () => {
  it('reads p99 and max (seconds, labelled or not) as ms; undefined when either is missing', () => {
    const page = [
      '# HELP nodejs_eventloop_lag_p99_seconds The 99th percentile of the recorded event loop delays.',
      '# TYPE nodejs_eventloop_lag_p99_seconds gauge',
      'nodejs_eventloop_lag_p99_seconds 0.0125',
      'nodejs_eventloop_lag_max_seconds{service="fulcrum"} 0.25',
      'nodejs_eventloop_lag_p90_seconds 0.009',
    ].join('\n');
    assert.deepEqual(parseEventLoopDelay(page), { p99: 12.5, max: 250 });
    assert.equal(parseEventLoopDelay('nodejs_eventloop_lag_p99_seconds 0.01'), undefined);
    assert.equal(parseEventLoopDelay(''), undefined);
  });

  it('prints it beside the CPU shares, and leaves it out for a process without it', () => {
    assert.equal(
      busyText({ fulcrum: 0.5, machine: 0.9, loop: { p99: 12.5, max: 250 } }),
      '  [fulcrum 50 %, machine 90 %, event loop delay p99 12.5 ms, max 250 ms]',
    );
    assert.equal(busyText({ fulcrum: 0.5, machine: 0.9 }), '  [fulcrum 50 %, machine 90 %]');
  });
});
