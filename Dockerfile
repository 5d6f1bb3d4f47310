# Fulcrum's image: one image for every role (api, worker, all, migrate) and for the Stripe sandbox.
#   docker build -t fulcrum .
#   docker run -e JWT_SECRET=… -e DATABASE_URL=postgres://… -p 3000:3000 fulcrum            # everything
#   docker run … fulcrum node src/main.ts api                                               # one role
# Node runs the TypeScript sources directly (type stripping): there is no build step, only dependencies.

# Production dependencies only, without install scripts (the one there is, @scarf/scarf's, is telemetry).
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data
WORKDIR /app
# Root owns the code and the dependencies, so the process cannot change them; it writes only to DATA_DIR.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY src ./src
COPY web ./web
RUN mkdir -p /app/data && chown node:node /app/data
# The node image's unprivileged user (uid 1000).
USER node
EXPOSE 3000
# Ready = the database answers and migrations are applied (/readyz bounds its own check to 2 s). The image has
# no curl: Node's fetch does it. A `worker` serves no HTTP: compose.yaml turns the check off there.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and gets SIGTERM itself (no shell in between); Fulcrum stops accepting, finishes the
# requests in flight and exits 0 within SHUTDOWN_TIMEOUT_MS. It reaps no children, so it needs no init.
CMD ["node", "src/main.ts", "all"]
