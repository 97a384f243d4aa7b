// Issue 21: on a fresh machine without redis-server, `npm start` and `npm test` (both run
// scripts/ensure-ready.mjs first) say so before anything else, install it on Debian or Ubuntu
// as root (saying so), and elsewhere print the install command and exit non-zero.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script without type declarations
import { findRedisServer, osFamily, planRedisServer } from './redis-server-check.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const which = (name: string): string =>
  spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();

describe('what to do without redis-server', () => {
  const debian = 'PRETTY_NAME="Debian GNU/Linux 12"\nID=debian\n';
  const ubuntu = 'ID=ubuntu\nID_LIKE=debian\n';
  const fedora = 'ID=fedora\n';

  it('reads the distribution from /etc/os-release', () => {
    expect(osFamily(ubuntu)).toEqual(['ubuntu', 'debian']);
    expect(osFamily('ID="rocky"\nID_LIKE="rhel centos fedora"\n')).toEqual([
      'rocky',
      'rhel',
      'centos',
      'fedora',
    ]);
    expect(osFamily('')).toEqual([]);
  });

  it('installs on Debian and Ubuntu as root; otherwise gives the command for the platform', () => {
    const install = 'apt-get update && apt-get install -y --no-install-recommends redis-server';
    expect(planRedisServer({ platform: 'linux', osRelease: debian, uid: 0 })).toEqual({ install });
    expect(planRedisServer({ platform: 'linux', osRelease: ubuntu, uid: 0 })).toEqual({ install });
    expect(
      planRedisServer({ platform: 'linux', osRelease: debian, uid: 0, autoInstall: false }),
    ).toEqual({ instruct: 'apt-get install redis-server' });
    expect(planRedisServer({ platform: 'linux', osRelease: debian, uid: 1000 })).toEqual({
      instruct: 'sudo apt-get install redis-server',
    });
    expect(planRedisServer({ platform: 'linux', osRelease: fedora, uid: 1000 })).toEqual({
      instruct: 'sudo dnf install redis',
    });
    expect(planRedisServer({ platform: 'darwin', osRelease: '', uid: 501 })).toEqual({
      instruct: 'brew install redis',
    });
  });

  it('finds redis-server through REDIS_SERVER_BIN, else PATH', () => {
    expect(findRedisServer({ PATH: '/nonexistent' })).toBeUndefined();
    const real = which('redis-server');
    expect(findRedisServer({ REDIS_SERVER_BIN: real, PATH: '' })).toBe(real);
  });
});

describe('scripts/ensure-ready.mjs on a machine without redis-server', () => {
  // A PATH with node, npm and sh but no redis-server; apt-get is a stand-in that records its
  // arguments and "installs" redis-server into the same directory.
  const bin = mkdtempSync(join(tmpdir(), 'entra-redis-fresh-'));
  for (const name of ['node', 'npm', 'sh']) symlinkSync(which(name), join(bin, name));
  const log = join(bin, 'apt-get.log');
  writeFileSync(
    join(bin, 'apt-get'),
    `#!/bin/sh\necho "$@" >> ${log}\n` +
      `if [ "$1" = install ]; then ${which('ln')} -sf ${which('redis-server')} ${join(bin, 'redis-server')}; fi\n`,
  );
  chmodSync(join(bin, 'apt-get'), 0o755);
  afterAll(() => rmSync(bin, { recursive: true, force: true }));
  const run = (env: Record<string, string>) =>
    spawnSync(join(bin, 'node'), ['scripts/ensure-ready.mjs'], {
      cwd: ROOT,
      env: { PATH: bin, HOME: process.env.HOME ?? '/root', ...env },
      encoding: 'utf8',
      timeout: 120_000,
    });

  it('says so first and exits non-zero with the command when it must not install', () => {
    const result = run({ ENTRA_REDIS_AUTO_INSTALL: '0' });
    expect(result.status).toBe(1);
    expect(result.stderr.split('\n')[0]).toMatch(
      /^\[ensure-ready\] redis-server is not installed .* Install it: (sudo )?apt-get install redis-server; or set REDIS_SERVER_BIN/,
    );
    expect(result.stderr).not.toMatch(/building|installing dependencies/);
  });

  it('installs it on Debian as root, saying so (otherwise: the sudo command, exit 1)', () => {
    const result = run({});
    if (process.getuid?.() === 0) {
      expect(result.stderr.split('\n')[0]).toBe(
        '[ensure-ready] redis-server is not installed; installing it: apt-get update && ' +
          'apt-get install -y --no-install-recommends redis-server',
      );
      expect(result.status, result.stderr).toBe(0);
      expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([
        'update',
        'install -y --no-install-recommends redis-server',
      ]);
    } else {
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/Install it: sudo apt-get install redis-server/);
    }
  });
});
