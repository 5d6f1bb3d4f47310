import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import {
  ARRAY_TYPES,
  createPGlite,
  describeError,
  rawAnswer,
  type PGliteThreadOptions,
  type Reply,
  type Request,
} from './pglite-thread.ts';

/**
 * The thread that holds PGlite (pglite-thread.ts): it opens PGlite, answers what the main thread sends in the order
 * sent (PGlite's own lock orders them), and closes it when asked. A named statement comes as protocol messages and its
 * answer goes back as PGlite's bytes, unparsed (the main thread parses them); a statement without a name goes through
 * PGlite.query and its rows cross as values. An error crosses as its message and fields.
 */
const port = parentPort!;
const options = workerData as PGliteThreadOptions;
const post = (reply: Reply) => port.postMessage(reply);

let pglite: PGlite;
try {
  pglite = await createPGlite(options.dataDir);
} catch (error) {
  post({ id: 0, error: describeError(error) });
  port.close();
  throw error;
}
// The array types PGlite.create found: the main thread builds the same serializers and parsers from them.
const arrayTypes = await pglite.query<{ oid: number; typarray: number }>(ARRAY_TYPES);
post({ id: 0, result: { rows: arrayTypes.rows } });

port.on('message', (request: Request) => {
  if (request.kind === 'close') {
    pglite.close().then(
      () => {
        post({ id: request.id, result: { rows: [] } });
        port.close();
      },
      (error: unknown) => post({ id: request.id, error: describeError(error) }),
    );
    return;
  }
  if (request.kind === 'protocol') {
    rawAnswer(pglite, request.message).then(
      (bytes) => port.postMessage({ id: request.id, bytes } satisfies Reply, [bytes.buffer as ArrayBuffer]),
      (error: unknown) => post({ id: request.id, error: describeError(error) }),
    );
    return;
  }
  pglite.query(request.text, request.values as unknown[]).then(
    (result) =>
      post({
        id: request.id,
        result:
          result.affectedRows === undefined
            ? { rows: result.rows }
            : { rows: result.rows, affectedRows: result.affectedRows },
      }),
    (error: unknown) => post({ id: request.id, error: describeError(error) }),
  );
});
