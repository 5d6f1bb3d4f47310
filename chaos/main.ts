// `npm run chaos -- --runs N --seed S [--pg] [--duration SECONDS] [--keep]` — see docs/chaos.md.
// Each run starts Fulcrum as real processes, throws a random concurrent workload, sandbox faults, SIGKILLs
// and (on PostgreSQL) killed connections at it, lets it settle and checks the money invariants. Exits 1
// when any run broke one, printing the run's seed so that `--seed <seed> --runs 1` repeats it.
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { abortAll } from './cluster.ts';
import { parseSeed, runSeed } from './prng.ts';
import { report, runOnce } from './run.ts';

const usage = 'usage: npm run chaos -- [--runs N] [--seed S] [--pg] [--duration SECONDS] [--keep]';

function options() {
  try {
    const { values } = parseArgs({
      options: {
        runs: { type: 'string', default: '1' },
        seed: { type: 'string' },
        pg: { type: 'boolean', default: false },
        duration: { type: 'string', default: '20' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    const runs = Number(values.runs);
    const duration = Number(values.duration);
    if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number ≥ 1, got ${values.runs}`);
    if (!Number.isFinite(duration) || duration < 1 || duration > 3600) {
      throw new Error(`--duration must be 1..3600 seconds, got ${values.duration}`);
    }
    const seed = values.seed === undefined ? randomInt(0, 2 ** 32 - 1) : parseSeed(values.seed);
    return { runs, duration, seed, pg: values.pg, keep: values.keep };
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    console.error(usage);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const o = options();
  // Interrupted (Ctrl-C, CI's timeout): no Fulcrum process or chaos database is left behind.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.log(`chaos: ${signal}, stopping`);
      void abortAll().finally(() => process.exit(130));
    });
  }
  const pgAdminUrl = o.pg ? process.env.CHAOS_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres' : undefined;
  const redisUrl = process.env.CHAOS_REDIS_URL || 'redis://127.0.0.1:6379';
  console.log(
    `chaos: seed ${o.seed}, ${o.runs} run${o.runs === 1 ? '' : 's'} of ${o.duration} s on ${o.pg ? `PostgreSQL (${pgAdminUrl}) with Redis (${redisUrl})` : 'PGlite'}`,
  );
  const failed: number[] = [];
  const began = Date.now();
  for (let i = 0; i < o.runs; i++) {
    const seed = runSeed(o.seed, i);
    console.log(`run ${i + 1}/${o.runs}: seed ${seed}`);
    const t0 = Date.now();
    const result = await runOnce({
      seed,
      durationS: o.duration,
      pgAdminUrl,
      redisUrl,
      keep: o.keep,
      say: (line) => console.log(line),
    });
    const took = `${Math.round((Date.now() - t0) / 1000)} s`;
    if (result.violations.length === 0) {
      console.log(`  ok in ${took}: ${result.summary}`);
    } else {
      failed.push(seed);
      console.log(`  ${result.summary === '' ? '' : `${result.summary}\n`}${report(result)}`);
      console.log(`  (${took})`);
    }
  }
  const minutes = ((Date.now() - began) / 60_000).toFixed(1);
  if (failed.length === 0) {
    console.log(`chaos: all ${o.runs} runs kept every invariant (seed ${o.seed}, ${minutes} min)`);
    return;
  }
  console.log(
    `chaos: ${failed.length} of ${o.runs} runs broke an invariant; seeds: ${failed.join(' ')} (seed ${o.seed}, ${minutes} min)`,
  );
  process.exitCode = 1;
}

await main();
