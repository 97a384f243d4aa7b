import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      'node-redis/index': 'src/node-redis/index.ts',
      'ioredis/index': 'src/ioredis/index.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    splitting: false,
    external: ['redis', 'ioredis', '@azure/identity', '@opentelemetry/api'],
  },
  {
    entry: { 'cli/index': 'src/cli/index.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    // `-S node --`: Node 20 would otherwise read a script's own `--env-file` flag as its own.
    banner: { js: '#!/usr/bin/env -S node --' },
    external: ['redis', 'ioredis', '@azure/identity', '@opentelemetry/api'],
  },
]);
