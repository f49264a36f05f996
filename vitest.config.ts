import { defineConfig } from 'vitest/config'

// Tests run on the sources (the `@podline/source` export condition), so the loop needs no build;
// tests that spawn the CLI or the worker run the built programs, which `npm test` builds first.
export default defineConfig({
  resolve: { conditions: ['@podline/source'] },
  ssr: { resolve: { conditions: ['@podline/source'] } },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'apps/*/src/**/*.test.ts',
      'infra/**/*.test.ts',
      'examples/**/*.test.ts',
      'docs/**/*.test.ts',
      'tests/**/*.test.ts',
    ],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    globalSetup: [],
  },
})
