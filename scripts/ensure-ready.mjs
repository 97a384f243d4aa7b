// Makes `npm start`, `npm test` and `npm run bench` work on a fresh clone: checks for
// redis-server first (installs it on Debian or Ubuntu as root, else says how), installs the
// dependencies when they are missing and rebuilds the packages when a source file is newer
// than the build output. Plain Node so that it runs before anything is installed.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findRedisServer, planRedisServer, readOsRelease } from './redis-server-check.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(args) {
  // Output to stderr: stdout belongs to the command being prepared (e.g. `npm start -- --json`).
  const result = spawnSync(npm, args, { cwd: root, stdio: ['inherit', 2, 2] });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function newestMtime(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs;
    if (mtime > newest) newest = mtime;
  }
  return newest;
}

// First of all: the demo and the tests run a real redis-server.
if (!findRedisServer()) {
  const plan = planRedisServer({
    platform: process.platform,
    osRelease: readOsRelease(),
    uid: process.getuid?.(),
    autoInstall: process.env.ENTRA_REDIS_AUTO_INSTALL !== '0',
  });
  if (plan.install) {
    console.error(`[ensure-ready] redis-server is not installed; installing it: ${plan.install}`);
    const install = spawnSync('sh', ['-c', plan.install], {
      stdio: ['inherit', 2, 2],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (install.status !== 0 || !findRedisServer()) {
      console.error('[ensure-ready] installing redis-server failed; install it and run again');
      process.exit(1);
    }
  } else {
    console.error(
      `[ensure-ready] redis-server is not installed (the demo and the tests run a real one). ` +
        `Install it: ${plan.instruct}; or set REDIS_SERVER_BIN to its path. Then run again.`,
    );
    process.exit(1);
  }
}

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  console.error('[ensure-ready] installing dependencies (npm ci)…');
  run(['ci']);
}

const packages = ['entra-redis', 'emulator'];
const stale = packages.some((name) => {
  const pkg = join(root, 'packages', name);
  const built = newestMtime(join(pkg, 'dist'));
  return built === 0 || newestMtime(join(pkg, 'src')) > built;
});
if (stale) {
  console.error('[ensure-ready] building packages…');
  run(['run', 'build', '--silent']);
}
