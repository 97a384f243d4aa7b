import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The README's first command, as a newcomer runs it: `npm start` with a short run and
// 3-second tokens; the final summary must show five or more rotations, nothing failed,
// nothing lost, nothing evicted, and the exit code must agree.
const root = fileURLToPath(new URL('../../../', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['start', '--silent', '--', ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm start (the demo)', () => {
  it('runs 20 s with 3 s tokens: at least five rotations, zero failures, zero losses', async () => {
    const { code, stdout, stderr } = await run([
      '--duration',
      '20',
      '--token-lifetime',
      '3',
      '--json',
    ]);
    const summary = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
      ok: boolean;
      rotations: number;
      reauths: number;
      clients: string[];
      operations: { ok: number; failed: number };
      messages: { published: number; received: number; lost: number };
      items: { queued: number; consumed: number; lost: number };
      evictions: number;
    };
    expect(summary, stderr).toMatchObject({
      ok: true,
      operations: { failed: 0 },
      messages: { lost: 0 },
      items: { lost: 0 },
      evictions: 0,
    });
    expect(summary.rotations).toBeGreaterThanOrEqual(5);
    expect(summary.reauths).toBeGreaterThan(0);
    expect(summary.operations.ok).toBeGreaterThan(1000);
    expect(summary.messages.published).toBeGreaterThan(100);
    expect(summary.items.consumed).toBe(summary.items.queued);
    expect(summary.clients).toEqual(
      expect.arrayContaining([
        'node-redis RESP2',
        'node-redis RESP3',
        'ioredis RESP2',
        'ioredis RESP3',
      ]),
    );
    expect(code).toBe(0);
  }, 90_000);
});
