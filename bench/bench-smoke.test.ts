// The benchmark suite's smoke run (`--smoke`): it must run end to end and write every results
// file with every section present. Structure only: no figure is checked for speed.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bench/run.ts with `args`; kills it after `timeoutMs`. */
function runBench(args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run bench -- --smoke', () => {
  let out: string;
  let run: Run;

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'entra-redis-bench-'));
    run = await runBench(['--smoke', '--out', out], 110_000);
  }, 120_000);

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('exits 0 and lists the four files it wrote', () => {
    expect(run.stderr).not.toMatch(/\[bench\] failed/);
    expect(run.code).toBe(0);
    const listed = run.stdout.trim().split('\n');
    expect(listed).toHaveLength(4);
    expect(listed.filter((f) => f.startsWith(out))).toHaveLength(4);
  });

  it('writes <ISO date>-<commit>.md/.json and latest.md/.json', async () => {
    const files = (await readdir(out)).sort();
    expect(files).toContain('latest.md');
    expect(files).toContain('latest.json');
    const stamped = files.filter((f) => /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-\w+\.(md|json)$/.test(f));
    expect(stamped).toHaveLength(2);
    const [json, md] = stamped.sort();
    expect(await readFile(join(out, json!), 'utf8')).toBe(
      await readFile(join(out, 'latest.json'), 'utf8'),
    );
    expect(await readFile(join(out, md!), 'utf8')).toBe(
      await readFile(join(out, 'latest.md'), 'utf8'),
    );
  });

  it('has every section, the machine, the versions and the command in the JSON', async () => {
    const r = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8'));
    expect(r.meta.command).toContain('--smoke');
    expect(r.meta.machine).toMatchObject({ cores: expect.any(Number), node: process.version });
    for (const name of ['redis', 'ioredis', '@redis/entraid', '@azure/identity']) {
      expect(r.meta.versions[name]).toMatch(/^\d+\.\d+/);
    }
    expect(r.meta.fdLimit).toBeGreaterThan(0);
    // 2 clients × GET/SET × every mode.
    expect(r.hotPath.cells).toHaveLength(4 * r.hotPath.settings.modes.length);
    for (const cell of r.hotPath.cells) {
      for (const arm of cell.arms) {
        expect(arm.opsPerSec).toHaveLength(r.hotPath.settings.rounds);
        for (const x of arm.opsPerSec) expect(x).toBeGreaterThan(0);
        if (arm.ratio) expect(arm.ratio.summary.median).toBeGreaterThan(0);
        expect(arm.cpuUsPerOp).toHaveLength(r.hotPath.settings.rounds);
        for (const x of arm.cpuUsPerOp) expect(x).toBeGreaterThan(0);
        if (arm.cpuRatio) expect(arm.cpuRatio.summary.median).toBeGreaterThan(0);
      }
    }
    expect(r.hotPath.headline.map((h: { arm: string }) => h.arm).sort()).toEqual([
      'io-entra',
      'node-entra',
      'node-entraid',
    ]);
    const fanoutArms = r.fanout.sizes[0].arms;
    expect(fanoutArms).toHaveLength(3);
    for (const a of fanoutArms) {
      expect(a.rotations).toHaveLength(r.fanout.sizes[0].size.rotations);
      // Every connection re-authenticated, and the times are real durations.
      expect(a.minReauthed).toBe(a.connections);
      expect(a.fanoutMs.median).toBeGreaterThan(0);
      expect(a.dispatchMs.median).toBeGreaterThanOrEqual(0);
      expect(a.latency.steady.n).toBeGreaterThan(0);
    }
    expect(r.soak.arms.map((a: { arm: string }) => a.arm)).toEqual([
      'node-entra',
      'io-entra',
      'node-entraid',
    ]);
    for (const a of r.soak.arms) {
      expect(a.rotations).toBeGreaterThanOrEqual(r.soak.settings.rotations);
      expect(a.counts.commandsOk).toBeGreaterThan(0);
      expect(a.counts.published).toBeGreaterThan(0);
      expect(a.counts.itemsPushed).toBeGreaterThan(0);
    }
    expect(r.entraid.rows.length).toBeGreaterThan(5);
    expect(r.footprint.arms).toHaveLength(5);
    for (const a of r.footprint.arms) {
      // Five connections: first-use compilation and whatever the earlier sections leave for the
      // collector outweigh them (seen from -30 KB to +150 KB per connection); only the shape.
      expect(Number.isFinite(a.heapPerConnectionBytes.median)).toBe(true);
      expect(Number.isFinite(a.heapPerAddedConnectionBytes.median)).toBe(true);
      expect(a.idleCpuPct.median).toBeGreaterThanOrEqual(0);
    }
    expect(r.dispatch.cells.map((c: { client: string }) => c.client)).toEqual([
      'ioredis',
      'node-redis',
    ]);
    for (const c of r.dispatch.cells) {
      expect(c.plainUs).toHaveLength(r.dispatch.settings.rounds);
      expect(c.protected.median).toBeGreaterThan(0);
    }
    expect(r.preload.startup.map((a: { arm: string }) => a.arm)).toEqual([
      'none',
      '--import',
      '--require',
    ]);
    for (const a of r.preload.startup) expect(a.summary.median).toBeGreaterThan(0);
    for (const c of r.preload.cells) {
      expect(c.preload.median).toBeGreaterThan(0);
      expect(c.api.median).toBeGreaterThan(0);
    }
    expect(r.preload.cells).toHaveLength(2);
  });

  it('renders every section in the markdown', async () => {
    const md = await readFile(join(out, 'latest.md'), 'utf8');
    for (const heading of [
      '## 1. Hot path',
      '## 2. Re-authentication fan-out',
      '## 3. Rotation soak',
      '## 4. entra-redis and @redis/entraid side by side',
      '## 5. Footprint',
      "## 6. The adapters' own cost per command",
      '## 7. The zero-code preload',
    ]) {
      expect(md).toContain(heading);
    }
    expect(md).not.toMatch(/eyJ[\w-]*\.[\w-]+\./); // no token in the results
  });
});

describe('bench/run.ts flags', () => {
  it('rejects an unknown section with exit code 2', async () => {
    const run = await runBench(['--only', 'nope'], 30_000);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown section "nope"');
  });
});
