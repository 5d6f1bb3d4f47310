// Module boundaries, checked by `npm run lint:deps` (part of `npm run check`).
// See docs/architecture.md § Module boundaries.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'No import cycles in source, type-only imports included.',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { circular: true },
    },
    {
      name: 'one-door',
      severity: 'error',
      comment:
        'A module (src/modules/<name>/, src/sandbox/) is used from another module only through its index.ts; its own files and tests may reach in.',
      from: { path: '^src/(modules/[^/]+|sandbox)/', pathNot: '\\.test\\.ts$' },
      to: {
        path: '^src/(modules/[^/]+|sandbox)/',
        pathNot: ['^src/$1/', '^src/(modules/[^/]+|sandbox)/index\\.ts$'],
      },
    },
    {
      name: 'one-door-from-outside',
      severity: 'error',
      comment: 'Code outside the modules (app.ts, main.ts, cli.ts, http/, …) uses a module only through its index.ts.',
      from: { path: '^src/', pathNot: ['^src/(modules/[^/]+|sandbox)/', '\\.test\\.ts$'] },
      to: { path: '^src/(modules/[^/]+|sandbox)/', pathNot: '^src/(modules/[^/]+|sandbox)/index\\.ts$' },
    },
    {
      name: 'settings-passed-in',
      severity: 'error',
      comment:
        'Modules get their settings passed in (each names the ones it reads); only the entry points load config.ts.',
      from: { path: '^src/(modules/[^/]+|sandbox)/', pathNot: '\\.test\\.ts$' },
      to: { path: '^src/config\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
