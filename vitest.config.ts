import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

// Tests run on the sources (the `@podline/source` export condition), so the loop needs no build;
// tests that spawn the CLI or the worker run the built programs, which `npm test` builds first.
//
// Two projects: `unit` holds the tests beside the code (each package's `npm test` runs its share:
// `turbo run test --filter @podline/sdk`), `system` the suites that cross packages and start whole
// fleets of processes (faults, hostile input, examples, infra checks). `npm test` runs both.
const DRIZZLE_ENTRIES = [
  'drizzle-orm',
  'drizzle-orm/pg-core',
  'drizzle-orm/pglite',
  'drizzle-orm/pglite/migrator',
  'drizzle-orm/postgres-js',
  'drizzle-orm/postgres-js/migrator',
]

export default defineConfig({
  resolve: { conditions: ['@podline/source'] },
  ssr: { resolve: { conditions: ['@podline/source'] } },
  test: {
    pool: 'forks',
    // Most of a test's time is spent waiting on PostgreSQL and child processes, not on this
    // process's CPU: two files at once even on two cores (vitest's default would be one).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // After each file: nothing it started is left running (tests/leak-check.ts).
    setupFiles: ['tests/leak-check.ts'],
    // drizzle-orm is ~100 modules under one 180 kB package.json whose exports Node.js parses again for
    // each of them (0.7 s per test file); pre-bundled once per run, as the runner's build does too.
    deps: { optimizer: { ssr: { enabled: true, include: DRIZZLE_ENTRIES } } },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'system',
          include: ['tests/**/*.test.ts', 'examples/**/*.test.ts', 'docs/**/*.test.ts', 'infra/**/*.test.ts'],
        },
      },
    ],
  },
})
