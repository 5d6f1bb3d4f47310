import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { pgliteQuery } from './pglite-statements.ts';
import { createPGlite, describeError, type PGliteThreadOptions, type Reply, type Request } from './pglite-thread.ts';
import { statementNames } from './prepared.ts';

/**
 * The thread that holds PGlite (pglite-thread.ts): it opens PGlite, answers each statement the main thread sends, in
 * the order sent (PGlite's own lock orders them), and closes it when asked. Only values cross: rows, and an error's
 * message and fields.
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
const query = pgliteQuery(pglite, options.preparedStatements ? statementNames() : undefined);
post({ id: 0, result: { rows: [] } });

port.on('message', (request: Request) => {
  if (request.close) {
    pglite.close().then(
      () => {
        post({ id: request.id, result: { rows: [] } });
        port.close();
      },
      (error: unknown) => post({ id: request.id, error: describeError(error) }),
    );
    return;
  }
  query(request.text, request.values).then(
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
