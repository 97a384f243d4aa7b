import { ClientSecretCredential } from '@azure/identity';
import { startEmulator, type Emulator } from '@entra-redis/emulator';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The cluster mode of issue 6: real cluster-enabled redis-servers, each behind its own
// validating front end, announcing the front ends' ports.

const REDIS_SCOPE = 'https://redis.azure.com/.default';
const bin = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

describe('startEmulator({ cluster })', () => {
  let emulator: Emulator;
  let stateDir: string;
  const clients: Array<{ destroy(): void }> = [];

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'emulator-cluster-'));
    emulator = await startEmulator({
      stateDir,
      tokenLifetimeSec: 120,
      cluster: { shards: 3, replicasPerShard: 1 },
    });
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await emulator?.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  /** A plain (non-cluster) client of one node's front end, authenticated with a real token. */
  async function nodeClient(port: number) {
    const credential = new ClientSecretCredential(
      emulator.tenantId,
      emulator.servicePrincipal.clientId,
      emulator.servicePrincipal.clientSecret,
      emulator.credentialOptions(),
    );
    const token = await credential.getToken(REDIS_SCOPE);
    const client = createClient({
      socket: {
        host: '127.0.0.1',
        port,
        tls: true,
        ca: emulator.caCertPem,
        reconnectStrategy: false,
      },
      username: emulator.servicePrincipal.oid,
      password: token!.token,
    });
    client.on('error', () => {});
    clients.push(client);
    await client.connect();
    return client;
  }

  const frontPorts = (): Set<number> => new Set(emulator.cluster!.nodes().map((n) => n.port));

  it('exposes root nodes, nodes with roles and slots, and REDIS_CLUSTER_NODES', () => {
    const cluster = emulator.cluster!;
    expect(cluster.rootNodes).toHaveLength(3);
    const nodes = cluster.nodes();
    expect(nodes).toHaveLength(6);
    expect(nodes.filter((n) => n.role === 'master')).toHaveLength(3);
    expect(nodes.every((n) => Number.isInteger(n.pid) && n.pid > 0)).toBe(true);
    const covered = nodes.flatMap((n) => n.slots).reduce((sum, [a, b]) => sum + b - a + 1, 0);
    expect(covered).toBe(16_384);
    expect(emulator.env().REDIS_CLUSTER_NODES).toBe(
      cluster.rootNodes.map((n) => `${n.host}:${n.port}`).join(','),
    );
    expect(emulator.redis.port).toBe(cluster.rootNodes[0]!.port);
  });

  it('announces only front-end ports in CLUSTER SLOTS, SHARDS and NODES', async () => {
    const client = await nodeClient(emulator.cluster!.rootNodes[0]!.port);
    const ports = frontPorts();
    const slots = (await client.sendCommand(['CLUSTER', 'SLOTS'])) as unknown[][];
    const slotPorts = slots.flatMap((range) =>
      range.slice(2).map((n) => Number((n as unknown[])[1])),
    );
    expect(slotPorts.length).toBe(6);
    for (const port of slotPorts) expect(ports.has(port), `SLOTS port ${port}`).toBe(true);

    const nodesText = String(await client.sendCommand(['CLUSTER', 'NODES']));
    const nodePorts = [...nodesText.matchAll(/ 127\.0\.0\.1:(\d+)@/g)].map((m) => Number(m[1]));
    expect(nodePorts).toHaveLength(6);
    for (const port of nodePorts) expect(ports.has(port), `NODES port ${port}`).toBe(true);

    const shards = JSON.stringify(await client.sendCommand(['CLUSTER', 'SHARDS']));
    const shardPorts = [...shards.matchAll(/"(?:port|tls-port)"[,:](\d+)/g)].map((m) =>
      Number(m[1]),
    );
    expect(shardPorts.length).toBeGreaterThanOrEqual(6);
    for (const port of shardPorts) expect(ports.has(port), `SHARDS port ${port}`).toBe(true);
  });

  // Redis builds MOVED and ASK from the same announced address, so MOVED pointing at a front end
  // covers ASK too (ASK only lives for the few milliseconds of a migration).
  it('redirects with MOVED to front ends; migrateSlot and failover change the map', async () => {
    const cluster = emulator.cluster!;
    const ports = frontPorts();
    const owner = (slot: number) =>
      cluster
        .nodes()
        .find((n) => n.role === 'master' && n.slots.some(([a, b]) => a <= slot && slot <= b))!;
    // "foo" hashes to slot 12182.
    const slot = 12_182;
    const first = owner(slot);
    const elsewhere = cluster.nodes().find((n) => n.role === 'master' && n.id !== first.id)!;
    const other = await nodeClient(elsewhere.port);
    const moved = await other.get('foo').catch((e: Error) => e.message);
    expect(moved).toMatch(new RegExp(`^MOVED ${slot} 127\\.0\\.0\\.1:(\\d+)$`));
    expect(ports.has(Number(/:(\d+)$/.exec(String(moved))![1]))).toBe(true);

    const direct = await nodeClient(first.port);
    await direct.set('foo', 'bar');
    await cluster.faults.migrateSlot(slot, elsewhere.shard);
    expect(owner(slot).shard).toBe(elsewhere.shard);
    expect(await other.get('foo')).toBe('bar'); // the key moved with its slot
    const after = await direct.get('foo').catch((e: Error) => e.message);
    expect(after).toBe(`MOVED ${slot} 127.0.0.1:${owner(slot).port}`);

    const shard = elsewhere.shard;
    const before = cluster.nodes().find((n) => n.shard === shard && n.role === 'master')!;
    await cluster.faults.failover(shard);
    const promoted = cluster.nodes().find((n) => n.shard === shard && n.role === 'master')!;
    expect(promoted.id).not.toBe(before.id);
    expect(cluster.nodes().find((n) => n.id === before.id)!.role).toBe('replica');
    const promotedClient = await nodeClient(promoted.port);
    expect(await promotedClient.get('foo')).toBe('bar'); // no data lost
  }, 60_000);

  it('dropConnections(i) closes only that node’s client connections', async () => {
    const cluster = emulator.cluster!;
    const a = await nodeClient(cluster.nodes()[0]!.port);
    const b = await nodeClient(cluster.nodes()[1]!.port);
    await Promise.all([a.ping(), b.ping()]);
    cluster.faults.dropConnections(0);
    const deadline = Date.now() + 5_000;
    while (a.isOpen && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(a.isOpen).toBe(false);
    expect(await b.ping()).toBe('PONG');
    expect(cluster.stats().perNode).toHaveLength(6);
    expect(cluster.stats().authOk).toBe(
      cluster.stats().perNode.reduce((sum, s) => sum + s.authOk, 0),
    );
  });

  it('refuses restartRedis and bad cluster options with clear errors', async () => {
    await expect(emulator.faults.restartRedis()).rejects.toThrow(/cluster mode/);
    await expect(startEmulator({ cluster: { shards: 0 } })).rejects.toThrow(/cluster\.shards/);
    await expect(startEmulator({ cluster: { shards: 2, replicasPerShard: 9 } })).rejects.toThrow(
      /cluster\.replicasPerShard/,
    );
  });
});

describe('entra-redis-emulator --cluster', () => {
  it('starts a cluster, prints REDIS_CLUSTER_NODES and stops cleanly on SIGTERM', async () => {
    expect(existsSync(bin), `${bin} is missing: run \`npm run build\` first`).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), 'emulator-cluster-cli-'));
    const envFile = join(dir, 'emulator.env');
    const child = spawn(
      bin,
      ['--env-file', envFile, '--state-dir', join(dir, 'state'), '--cluster', '2'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    try {
      const deadline = Date.now() + 40_000;
      while (!existsSync(envFile)) {
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`the emulator did not get ready: ${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const nodes = /^REDIS_CLUSTER_NODES=(.+)$/m.exec(readFileSync(envFile, 'utf8'))?.[1];
      expect(nodes?.split(',')).toHaveLength(2);
      // The guide goes to stderr right after the env file is written.
      const guideBy = Date.now() + 5_000;
      while (!stderr.includes('Redis Cluster (TLS)') && Date.now() < guideBy) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(stderr).toContain('Redis Cluster (TLS)');
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses --replicas without --cluster', async () => {
    const child = spawn(bin, ['--replicas', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/--replicas needs --cluster/);
  });
});
