import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminClient } from '../src/redis-front/admin-client.js';
import { findRedisServer, startRedisServer, type RedisServer } from '../src/redis-server.js';
import { alive } from './helpers/process.js';

describe('startRedisServer', () => {
  const started: RedisServer[] = [];
  afterEach(async () => {
    for (const s of started.splice(0)) await s.stop();
  });

  it('runs redis-server on loopback with a secret admin password and no persistence', async () => {
    const server = await startRedisServer();
    started.push(server);
    expect(server.host).toBe('127.0.0.1');
    expect(alive(server.pid)).toBe(true);

    const anonymous = await AdminClient.connect({ host: server.host, port: server.port });
    const noauth = await anonymous.command(['GET', 'k']);
    expect(noauth).toBeInstanceOf(Error);
    expect((noauth as Error).message).toMatch(/^NOAUTH/);
    anonymous.close();

    const admin = await AdminClient.connect({
      host: server.host,
      port: server.port,
      password: server.adminPassword,
    });
    expect(await admin.command(['PING'])).toBe('PONG');
    expect(await admin.command(['CONFIG', 'GET', 'save'])).toEqual(['save', '']);
    expect(await admin.command(['CONFIG', 'GET', 'appendonly'])).toEqual(['appendonly', 'no']);
    expect(await admin.command(['CONFIG', 'GET', 'bind'])).toEqual(['bind', '127.0.0.1']);
    admin.close();
  });

  it('restarts on the same port with a new process and empty data', async () => {
    const server = await startRedisServer();
    started.push(server);
    const { port, pid } = server;
    const admin = await AdminClient.connect({
      host: server.host,
      port,
      password: server.adminPassword,
    });
    await admin.command(['SET', 'k', 'v']);
    await server.restart();
    expect(server.port).toBe(port);
    expect(server.pid).not.toBe(pid);
    expect(alive(pid)).toBe(false);
    expect(admin.closed).toBe(true);
    const again = await AdminClient.connect({
      host: server.host,
      port,
      password: server.adminPassword,
    });
    expect(await again.command(['GET', 'k'])).toBeNull();
    again.close();
  });

  it('stop() is idempotent, kills the child and removes its temp dir', async () => {
    const server = await startRedisServer();
    const { pid, logPath } = server;
    expect(existsSync(logPath)).toBe(true);
    await server.stop();
    await server.stop();
    expect(alive(pid)).toBe(false);
    expect(existsSync(dirname(logPath))).toBe(false);
    await expect(server.restart()).rejects.toMatchObject({ code: 'REDIS_SERVER_STOPPED' });
  });

  it('reports startup failures (fixed port taken, bad option) with the log tail', async () => {
    const first = await startRedisServer();
    started.push(first);
    await expect(startRedisServer({ port: first.port })).rejects.toMatchObject({
      code: 'REDIS_SERVER_START_FAILED',
      message: expect.stringMatching(/Address already in use/i),
    });
    await expect(startRedisServer({ extraArgs: ['--no-such-option', 'x'] })).rejects.toMatchObject({
      code: 'REDIS_SERVER_START_FAILED',
      message: expect.stringMatching(/no-such-option/),
    });
  });

  it('a redis-server dies with the process that started it, even one killed with SIGKILL (Linux)', async () => {
    // A process that starts a redis-server, prints its pid and waits: SIGKILL runs no exit handler.
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `const { startRedisServer } = await import(${JSON.stringify(dist)});
      const server = await startRedisServer();
      process.stdout.write(server.pid + '\\n');
      setInterval(() => undefined, 60_000);`;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    parent.stdout.on('data', (chunk: Buffer) => (out += chunk));
    while (!out.includes('\n')) {
      await Promise.race([once(parent.stdout, 'data'), once(parent, 'exit')]);
      if (parent.exitCode !== null) throw new Error(`the starting process exited: ${out}`);
    }
    const pid = Number(out.trim());
    expect(alive(pid)).toBe(true);
    parent.kill('SIGKILL');
    await once(parent, 'exit');
    // The kernel signals the child as its parent dies; it is gone as soon as it is reaped.
    for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid), `redis-server ${pid} outlived its killed parent`).toBe(false);
  });

  it('names the install command when redis-server cannot be found', () => {
    const path = process.env.PATH;
    const bin = process.env.REDIS_SERVER_BIN;
    try {
      process.env.PATH = '/nonexistent';
      delete process.env.REDIS_SERVER_BIN;
      expect(() => findRedisServer()).toThrow(
        /apt-get install redis-server.*brew install redis.*REDIS_SERVER_BIN/s,
      );
      expect(() => findRedisServer('/nonexistent/redis-server')).toThrow(/not an executable/);
    } finally {
      process.env.PATH = path;
      if (bin !== undefined) process.env.REDIS_SERVER_BIN = bin;
    }
    expect(findRedisServer()).toMatch(/redis-server$/);
  });
});
