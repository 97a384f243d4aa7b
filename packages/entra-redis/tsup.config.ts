import { defineConfig } from 'tsup';

// The configurations build in parallel into one dist/, so none cleans it: `npm run build`
// removes it first.
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
    target: 'node20',
    splitting: false,
    external: ['redis', 'ioredis', '@azure/identity', '@opentelemetry/api'],
  },
  {
    // The zero-code preload. ESM chunks keep the identity code (and @azure/identity) out of
    // startup: it loads at the first token request. The CommonJS build requires it lazily.
    entry: { 'register/index': 'src/register/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    target: 'node20',
    splitting: true,
    shims: true,
    external: [
      'redis',
      'ioredis',
      '@azure/identity',
      '@opentelemetry/api',
      'require-in-the-middle',
      'import-in-the-middle',
    ],
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
