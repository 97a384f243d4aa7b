// The emulator, run in a child process of the benchmark so that its front end (TLS, token
// verification, RESP forwarding) does not share the client's event loop, heap or CPU counters.
// The parent drives it over IPC (see emulator-link.ts). Nothing here logs a token.
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  defaultTenantConfig,
  findRedisServer,
  startEmulator,
  type Emulator,
  type ServicePrincipal,
} from '@entra-redis/emulator';
import type { HostCounters, HostInfo, HostStartOptions, OidCounters } from './emulator-link.js';

interface Request {
  id: number;
  op: string;
  args?: unknown;
}

let emulator: Emulator | undefined;
let stateDir: string | undefined;
const byOid = new Map<string, OidCounters>();
const reauthTimes = new Map<string, number[]>();

const now = (): number => performance.timeOrigin + performance.now();

function countersOf(oid: string): OidCounters {
  let c = byOid.get(oid);
  if (!c) {
    c = { authOk: 0, reauthOk: 0, authFailed: 0, reauthFailed: 0, evictions: 0 };
    byOid.set(oid, c);
  }
  return c;
}

function benchPrincipal(name: string): ServicePrincipal {
  return {
    kind: 'servicePrincipal',
    clientId: randomUUID(),
    oid: randomUUID(),
    displayName: `bench-${name}`,
    secret: randomBytes(24).toString('base64url'),
    accessPolicy: 'Data Owner',
  };
}

async function start(options: HostStartOptions): Promise<HostInfo> {
  const tenant = defaultTenantConfig();
  const principals: HostInfo['principals'] = {};
  for (const name of options.principals) {
    const sp = benchPrincipal(name);
    tenant.servicePrincipals.push(sp);
    principals[name] = { oid: sp.oid, clientId: sp.clientId, clientSecret: sp.secret! };
  }
  stateDir = await mkdtemp(join(tmpdir(), 'entra-redis-bench-'));
  emulator = await startEmulator({
    stateDir,
    tenant,
    tokenLifetimeSec: options.tokenLifetimeSec,
    redis: { extraArgs: options.extraArgs },
  });
  emulator.front.events.on('auth', (e) => {
    const c = countersOf(e.oid);
    if (e.ok && e.reauth) {
      c.reauthOk++;
      let log = reauthTimes.get(e.oid);
      if (!log) reauthTimes.set(e.oid, (log = []));
      log.push(now());
    } else if (e.ok) c.authOk++;
    else if (e.reauth) c.reauthFailed++;
    else c.authFailed++;
  });
  emulator.front.events.on('eviction', (e) => countersOf(e.oid).evictions++);
  return {
    host: emulator.redis.host,
    port: emulator.redis.port,
    caCertPem: emulator.caCertPem,
    tenantId: emulator.tenantId,
    authorityHost: emulator.authorityHost,
    principals,
    redisVersion: await redisVersion(),
  };
}

function redisVersion(): Promise<string> {
  return new Promise((resolve) =>
    execFile(findRedisServer(), ['--version'], (error, stdout) =>
      resolve(error ? 'unknown' : (/v=([\d.]+)/.exec(stdout)?.[1] ?? 'unknown')),
    ),
  );
}

function need(): Emulator {
  if (!emulator) throw new Error('emulator not started');
  return emulator;
}

const handlers: Record<string, (args: never) => unknown> = {
  start: (args: HostStartOptions) => start(args),
  clock: () => now(),
  setTokenLifetime: (sec: number) => {
    need().tenant.tokenLifetimeSec = sec;
  },
  mint: async ({ oid, lifetimeSec }: { oid: string; lifetimeSec: number }) => {
    const e = need();
    const principal = e.tenant.findByOid(oid);
    if (!principal) throw new Error(`no principal ${oid}`);
    const minted = await e.tenant.mintAccessToken(principal, {
      audience: 'https://redis.azure.com',
      lifetimeSec,
      clientAuth: 1,
    });
    return minted.accessToken;
  },
  // Cost of the token checks the front end runs for `count` AUTHs carrying one new token, all at
  // once as a fan-out brings them (one shared RS256 verification, then the claims of each): a
  // floor under any fan-out time.
  verifyCost: async ({ oid, count }: { oid: string; count: number }) => {
    const e = need();
    const principal = e.tenant.findByOid(oid);
    if (!principal) throw new Error(`no principal ${oid}`);
    const { accessToken } = await e.tenant.mintAccessToken(principal, {
      audience: 'https://redis.azure.com',
    });
    const start = now();
    await Promise.all(
      Array.from({ length: count }, () => e.tenant.verifyRedisAuth(oid, accessToken)),
    );
    return (now() - start) / count;
  },
  counters: (): HostCounters => {
    const cpu = process.cpuUsage();
    return {
      front: need().front.stats(),
      byOid: Object.fromEntries(byOid),
      cpuMs: (cpu.user + cpu.system) / 1000,
      openFds: openFds(),
    };
  },
  reauthTimes: ({ oid, sinceMs }: { oid: string; sinceMs: number }) =>
    (reauthTimes.get(oid) ?? []).filter((t) => t >= sinceMs),
  clearAuthLog: () => reauthTimes.clear(),
  close: () => close(),
};

/** Open file descriptors of this process (Linux), or -1 where /proc is missing. */
function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

async function close(): Promise<void> {
  const e = emulator;
  emulator = undefined;
  await e?.close();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
  stateDir = undefined;
}

process.on('message', (message: Request) => {
  const handler = handlers[message.op];
  void (async () => {
    try {
      if (!handler) throw new Error(`unknown op ${message.op}`);
      const result = await handler(message.args as never);
      process.send?.({ id: message.id, ok: true, result });
    } catch (error) {
      process.send?.({ id: message.id, ok: false, error: String((error as Error)?.message) });
    }
  })();
});

// The parent went away (finished or crashed): stop redis-server and the listeners, then exit.
process.on('disconnect', () => {
  void close().finally(() => process.exit(0));
});
