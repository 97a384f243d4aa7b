// Whether redis-server is there for `npm start` and `npm test`, and what to do when it is not:
// install it (Debian or Ubuntu, as root) or say the command for this platform. Plain Node, no
// dependencies: it runs before anything is installed.
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The redis-server the emulator would run: REDIS_SERVER_BIN, else the first on PATH. */
export function findRedisServer(env = process.env) {
  const candidates = env.REDIS_SERVER_BIN
    ? [env.REDIS_SERVER_BIN]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, 'redis-server'));
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** `ID` and `ID_LIKE` of /etc/os-release, lower case (empty when there is none). */
export function osFamily(osRelease) {
  const ids = [];
  for (const line of (osRelease ?? '').split('\n')) {
    const m = /^(ID|ID_LIKE)=(.*)$/.exec(line.trim());
    if (m) ids.push(...m[2].replace(/["']/g, '').toLowerCase().split(/\s+/));
  }
  return ids;
}

/**
 * What to do without redis-server: `{ install: [command, ...args] }` when this process may
 * install it itself (Debian or Ubuntu, as root, unless ENTRA_REDIS_AUTO_INSTALL=0), else
 * `{ instruct: 'the command to run' }`.
 */
export function planRedisServer({ platform, osRelease, uid, autoInstall = true }) {
  if (platform === 'darwin') return { instruct: 'brew install redis' };
  if (platform !== 'linux') {
    return {
      instruct:
        'install Redis 6.2 or newer (https://redis.io/docs/latest/operate/oss_and_stack/install/)',
    };
  }
  const family = osFamily(osRelease);
  if (family.some((id) => id === 'debian' || id === 'ubuntu')) {
    if (uid === 0 && autoInstall) {
      return {
        install: 'apt-get update && apt-get install -y --no-install-recommends redis-server',
      };
    }
    return { instruct: `${uid === 0 ? '' : 'sudo '}apt-get install redis-server` };
  }
  if (family.some((id) => ['fedora', 'rhel', 'centos'].includes(id))) {
    return { instruct: `${uid === 0 ? '' : 'sudo '}dnf install redis` };
  }
  if (family.includes('alpine')) return { instruct: 'apk add redis' };
  return { instruct: 'install redis-server with your package manager (Redis 6.2 or newer)' };
}

/** Reads /etc/os-release, or '' when there is none. */
export function readOsRelease(path = '/etc/os-release') {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
