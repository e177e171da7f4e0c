import { defineConfig } from 'vitest/config';

const conditions = ['@synod/source', 'import', 'module', 'node', 'default'];

/**
 * Shared vitest settings. Inside the workspace, `@synod/*` imports resolve to
 * TypeScript sources through the `@synod/source` export condition, so tests
 * never need a prior build. Each run also writes test-results/vitest.json,
 * which tools/scripts/summarize-tests.mjs adds up for the closing line.
 *
 * @param {{ testTimeoutMs?: number }} [options]
 */
export function synodVitestConfig(options = {}) {
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions } },
    test: {
      include: ['test/**/*.test.ts'],
      environment: 'node',
      testTimeout: options.testTimeoutMs ?? 30_000,
      pool: 'forks',
      reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    },
  });
}
