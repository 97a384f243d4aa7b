#!/usr/bin/env -S node --
// The `entra-redis` command. A file of its own rather than the built CLI, so that npm links the
// command when it installs a checkout, before the first build. The `--` in the first line ends
// Node's own options: Node 20 would otherwise read a script's `--env-file <path>` as its own.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli/index.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'entra-redis: the package is not built yet; run `npm run build` in the repository first.\n',
  );
  process.exit(1);
}
await import(cli.href);
