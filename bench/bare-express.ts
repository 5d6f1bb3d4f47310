// The HTTP ceiling: a bare Express 5 app in a process of its own, answering one JSON route, as Fulcrum's
// process answers its API (node:http server with Fulcrum's timeouts, driven by the same load generator).
//   BARE_VARIANT=layout  express.json() in front and the route in a Router mounted at /api/v1 (Fulcrum's layout
//                        without its middleware: request id, access log, metrics, helmet, cors, static files)
//   BARE_VARIANT=route   nothing but the route
// BARE_BODY is the JSON it answers (the bench passes a product as Fulcrum answers it, so the bytes match),
// BARE_PATH the route's path under /api/v1; it prints `listening <port>` once it listens.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';

const body = JSON.parse(process.env.BARE_BODY ?? '{"ok":true}') as unknown;
const path = process.env.BARE_PATH ?? '/products/bare';
const app = express();
app.disable('x-powered-by');
if (process.env.BARE_VARIANT === 'route') {
  app.get(`/api/v1${path}`, (_req, res) => {
    res.json(body);
  });
} else {
  const router = express.Router();
  router.get(path, (_req, res) => {
    res.json(body);
  });
  app.use(express.json({ limit: '100kb' }));
  app.use('/api/v1', router);
}
const server = createServer({ requestTimeout: 30_000, headersTimeout: 15_000 }, app);
server.keepAliveTimeout = 5_000;
server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
