import type { Response } from 'express';

/**
 * Runs `record(status, body)` when the handler (or the error handler) responds — through send/json or a
 * bare end() — and only then lets the response out: a client that retries the moment it has its answer
 * finds the key done, not in progress. `body` is the parsed JSON, null for an empty body, undefined when
 * it is not JSON (then nothing is stored).
 */
/** A response as it is sent: its text when it is one, and its JSON body, parsed when asked. */
export interface SentBody {
  text: string | undefined;
  /** null when empty, undefined when it is not JSON we could replay. */
  body(): unknown;
}

const sent = (payload: unknown): SentBody => ({
  text: typeof payload === 'string' ? payload : undefined,
  body: () => parseBody(payload),
});

export function captureResponse(res: Response, record: (status: number, body: SentBody) => Promise<void>): void {
  const originalSend = res.send;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- put back on res and always called with res as this
  const originalEnd = res.end;
  const restore = () => {
    // express's send calls json/send/end again internally: those calls must pass straight through.
    res.send = originalSend;
    res.end = originalEnd;
  };
  res.send = function send(this: Response, payload?: unknown) {
    restore();
    void record(res.statusCode, sent(payload)).finally(() => {
      originalSend.call(res, payload);
    });
    return res;
  };
  res.end = function end(this: Response, ...args: unknown[]) {
    restore();
    const chunk = typeof args[0] === 'function' ? undefined : args[0];
    void record(res.statusCode, sent(chunk)).finally(() => {
      (originalEnd as (...a: unknown[]) => Response).apply(res, args);
    });
    return res;
  } as Response['end'];
}

/** The JSON body being sent: null when empty, undefined when it is not JSON we could replay. */
function parseBody(payload: unknown): unknown {
  if (payload === undefined || payload === null || payload === '') return null;
  const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
  if (text === undefined) return typeof payload === 'object' ? payload : undefined;
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function replay(res: Response, status: number, body: unknown): void {
  res.setHeader('Idempotent-Replayed', 'true');
  res.status(status);
  if (body === null || body === undefined) {
    res.end();
    return;
  }
  res.type(status >= 400 ? 'application/problem+json' : 'application/json').send(JSON.stringify(body));
}
