import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    splitting: false,
  },
  {
    entry: { cli: 'src/cli.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    // `-S node --`: Node 20 would otherwise read a script's own `--env-file` flag as its own.
    banner: { js: '#!/usr/bin/env -S node --' },
    external: ['entra-redis', 'redis', 'ioredis', '@azure/identity'],
  },
]);
