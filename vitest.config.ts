import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      {
        find: /^entra-redis\/node-redis$/,
        replacement: src('./packages/entra-redis/src/node-redis/index.ts'),
      },
      {
        find: /^entra-redis\/ioredis$/,
        replacement: src('./packages/entra-redis/src/ioredis/index.ts'),
      },
      { find: /^entra-redis$/, replacement: src('./packages/entra-redis/src/index.ts') },
      { find: /^@entra-redis\/emulator$/, replacement: src('./packages/emulator/src/index.ts') },
    ],
  },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'examples/**/*.test.ts',
      'bench/**/*.test.ts',
      'scripts/**/*.test.ts',
    ],
    pool: 'forks',
    // Two cores: integration files each run real redis-server processes and TLS servers.
    poolOptions: { forks: { minForks: 1, maxForks: 2 } },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
    reporters: ['default'],
  },
});
