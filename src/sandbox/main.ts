// `npm run sandbox -- --port 12111 --webhook-url http://… --webhook-secret whsec_… [--data-file …]`
// Without --data-file nothing is persisted: a restart starts empty.
import { parseArgs } from 'node:util';
import { startSandbox } from './index.ts';

const usage =
  'usage: npm run sandbox -- [--port 12111] [--host 127.0.0.1] [--webhook-url URL] [--webhook-secret whsec_…] ' +
  '[--data-file FILE (without it nothing is persisted)] [--public-url URL] [--retry-delays MS,MS,… (last repeats until a 2xx)]';

const maxRetryDelayMs = 86_400_000;

/** `1000,2000,4000` → [1000, 2000, 4000], or an error message. */
function parseRetryDelays(value: string): number[] | string {
  const parts = value.split(',').map((p) => p.trim());
  const valid = parts.every((p) => /^\d+$/.test(p) && Number(p) <= maxRetryDelayMs);
  if (!valid || Number(parts.at(-1)) < 1) {
    return `--retry-delays must be comma-separated whole milliseconds 0..${maxRetryDelayMs}, the last at least 1 (it repeats until a 2xx), e.g. 1000,2000,4000; got ${JSON.stringify(value)}`;
  }
  return parts.map(Number);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '12111' },
        host: { type: 'string', default: '127.0.0.1' },
        'webhook-url': { type: 'string' },
        'webhook-secret': { type: 'string' },
        'data-file': { type: 'string' },
        'public-url': { type: 'string' },
        'retry-delays': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    console.error(usage);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be an integer 0..65535, got ${values.port}`);
    process.exit(2);
  }
  const retryDelaysMs = values['retry-delays'] === undefined ? undefined : parseRetryDelays(values['retry-delays']);
  if (typeof retryDelaysMs === 'string') {
    console.error(retryDelaysMs);
    console.error(usage);
    process.exit(2);
  }
  const sandbox = await startSandbox({
    port,
    host: values.host,
    webhookUrl: values['webhook-url'],
    webhookSecret: values['webhook-secret'],
    dataFile: values['data-file'],
    publicUrl: values['public-url'],
    retryDelaysMs,
  });
  console.log(`Stripe sandbox listening on ${sandbox.url}`);
  console.log(`webhook secret: ${sandbox.webhookSecret}`);
  console.log(`webhook endpoint: ${values['webhook-url'] ?? '(none: events are only listed)'}`);
  console.log(`data file: ${values['data-file'] ?? '(none: nothing is persisted)'}`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    sandbox.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
