import { pino, type DestinationStream, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';

export type { Logger };

/** LOG_FORMAT: `auto` is readable lines on a terminal and JSON lines otherwise (a file, a pipe, a collector). */
export type LogFormat = 'auto' | 'pretty' | 'json';

/** Where lines go: process.stdout unless a test gives its own. `isTTY` decides `auto`. */
export interface LogDestination {
  write(line: string): unknown;
  isTTY?: boolean;
}

export interface LoggerOptions {
  format?: LogFormat;
  destination?: LogDestination;
}

export function resolveLogFormat(format: LogFormat, isTTY: boolean): 'pretty' | 'json' {
  if (format !== 'auto') return format;
  return isTTY ? 'pretty' : 'json';
}

export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  const out = options.destination ?? process.stdout;
  const format = resolveLogFormat(options.format ?? 'auto', out.isTTY === true);
  const settings = {
    level,
    base: { service: 'fulcrum' },
    redact: {
      paths: ['req.headers.authorization', 'password', '*.password', 'refreshToken', '*.refreshToken'],
      remove: true,
    },
  };
  if (format === 'pretty') return pino(settings, prettyDestination(out));
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination as DestinationStream);
}

/**
 * pino-pretty in this process (no worker thread, so nothing is lost at exit): one line per entry, the
 * time, the level, the message and its fields; a request is `GET /api/v1/products 200 3.1 ms`. Colours
 * on a terminal unless NO_COLOR is set.
 */
function prettyDestination(out: LogDestination): DestinationStream {
  const colorize = out.isTTY === true && (process.env.NO_COLOR ?? '') === '';
  const prettify = prettyFactory({
    colorize,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,service',
    singleLine: true,
  });
  return {
    write(line: string) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      out.write(prettify(readable(entry)));
    },
  };
}

/** An access-log entry as one short line; anything else as it is. */
function readable(entry: Record<string, unknown>): Record<string, unknown> {
  if (entry.msg !== 'request' || typeof entry.method !== 'string' || typeof entry.url !== 'string') return entry;
  const { method, url, status, ms, reqId: _reqId, ...rest } = entry;
  const took = typeof ms === 'number' ? ` ${ms.toFixed(1)} ms` : '';
  return { ...rest, msg: `${method} ${url} ${String(status)}${took}` };
}

/**
 * Writes `text` as it is (not a log entry: no level, no JSON) to where `logger` writes, after everything it
 * logged before — the start banner uses it so its lines are not interleaved with buffered log lines.
 */
export function writeThrough(logger: Logger, text: string): void {
  const stream = (logger as unknown as Record<symbol, LogDestination | undefined>)[pino.symbols.streamSym];
  if (stream === undefined) process.stdout.write(text);
  else stream.write(text);
}
