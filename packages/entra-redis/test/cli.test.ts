// The built `entra-redis` CLI (dist/cli/index.js) run as a child process against the emulator:
// a pass, every failure category with its diagnosis, `token` output, and bad input.
// Build first: `cd /work/main && npm run build --silent`.
import { startEmulator, type Emulator } from '@entra-redis/emulator';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignPolicyFix } from '../src/cli/diagnose.js';
import { defaultPort, hostKind } from '../src/cli/hosts.js';
import { parseReply } from '../src/cli/resp.js';
import { freePort, runCli, type CliResult } from './cli-helpers.js';

// The `entra-redis` command as npm linked it at install time (it runs the build).
const CLI = fileURLToPath(new URL('../../../node_modules/.bin/entra-redis', import.meta.url));
const JWT = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+/;

interface Stage {
  name: string;
  ok: boolean;
  skipped?: boolean;
  ms: number;
  detail?: string;
  diagnosis?: string;
  fix?: string;
}
interface Report {
  host: string;
  port: number;
  ok: boolean;
  stages: Stage[];
}

let emulator: Emulator;
let stateDir: string;
let target: string[];
const outputs: string[] = [];

/** Runs the CLI with the emulator's environment (plus `env`), keeping every output for the leak check. */
async function cli(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<CliResult> {
  const result = await runCli(CLI, args, { ...emulator.env(), ...env });
  outputs.push(result.stdout, result.stderr);
  return result;
}

async function checkJson(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ result: CliResult; report: Report; stage: (name: string) => Stage }> {
  const result = await cli(['check', ...target, '--json', ...args], env);
  const report = JSON.parse(result.stdout) as Report;
  const stage = (name: string): Stage => {
    const found = report.stages.find((s) => s.name === name);
    if (!found) throw new Error(`no stage "${name}" in ${result.stdout}`);
    return found;
  };
  return { result, report, stage };
}

function principal(index: number): { clientId: string; oid: string; secret: string } {
  const sp = emulator.tenant.config.servicePrincipals[index];
  if (!sp?.secret) throw new Error(`service principal ${index} has no secret`);
  return { clientId: sp.clientId, oid: sp.oid, secret: sp.secret };
}

function servicePrincipalArgs(clientId: string): string[] {
  return [
    '--auth',
    'service-principal',
    '--tenant-id',
    emulator.tenantId,
    '--client-id',
    clientId,
    '--secret-env',
    'CHECK_SECRET',
  ];
}

beforeAll(async () => {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: install the workspace first (npm ci)`);
  }
  stateDir = await mkdtemp(join(tmpdir(), 'entra-redis-cli-'));
  emulator = await startEmulator({ stateDir, redis: { plainPort: 0 } });
  target = ['--host', emulator.redis.host, '--port', String(emulator.redis.port)];
});

afterAll(async () => {
  await emulator?.close();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

describe('entra-redis check', () => {
  it('passes every stage against the emulator (exit 0, --json parses)', async () => {
    const { result, report } = await checkJson([]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(report).toMatchObject({
      host: emulator.redis.host,
      port: emulator.redis.port,
      ok: true,
    });
    expect(report.stages.map((s) => s.name)).toEqual([
      'dns',
      'tcp',
      'tls',
      'token',
      'auth',
      'ping',
      'topology',
      'roundtrip',
    ]);
    for (const s of report.stages) {
      expect(s.ok, s.name).toBe(true);
      expect(s.skipped, s.name).toBeUndefined();
      expect(s.ms).toBeGreaterThanOrEqual(0);
    }
    expect(report.stages[6]!.detail).toBe('a single node (cluster support disabled)');
    const token = report.stages[3]!.detail!;
    expect(token).toContain(`oid=${emulator.servicePrincipal.oid}`);
    expect(token).toContain(`tid=${emulator.tenantId}`);
    expect(token).toContain('aud=https://redis.azure.com');
    expect(token).toContain(`appid=${emulator.servicePrincipal.clientId}`);
    expect(token).toMatch(/expires \S+Z \(in (1h 00m|59m) \d\ds\)/);
  });

  it('prints plain PASS lines without a TTY (no spinner, no escape codes)', async () => {
    const result = await cli(['check', ...target]);
    expect(result.code).toBe(0);
    expect(result.stdout.match(/^ {2}PASS {2}/gm)).toHaveLength(8);
    expect(result.stdout).toContain('All checks passed.');
    expect(result.stdout).not.toContain('\r');
    expect(result.stdout).not.toContain('\u001b');
  });

  it('unassigned principal: WRONGPASS explained as a missing access policy naming the oid', async () => {
    const p = principal(2);
    const { result, report, stage } = await checkJson(servicePrincipalArgs(p.clientId), {
      CHECK_SECRET: p.secret,
    });
    expect(result.code).toBe(1);
    expect(report.ok).toBe(false);
    expect(stage('token').ok).toBe(true);
    const auth = stage('auth');
    expect(auth).toMatchObject({ ok: false, detail: expect.stringContaining('WRONGPASS') });
    expect(auth.diagnosis).toContain(`no data access policy assignment for oid ${p.oid}`);
    expect(auth.fix).toContain(`--object-id ${p.oid}`);
    expect(auth.fix).toContain('access-policy-assignment create');
    expect(stage('ping')).toMatchObject({ ok: false, skipped: true });
  });

  it('reader principal: NOPERM on SET explained; --read-only passes', async () => {
    const p = principal(1);
    const env = { CHECK_SECRET: p.secret };
    const full = await checkJson(servicePrincipalArgs(p.clientId), env);
    expect(full.result.code).toBe(1);
    expect(full.stage('auth').ok).toBe(true);
    expect(full.stage('ping').ok).toBe(true);
    const roundtrip = full.stage('roundtrip');
    expect(roundtrip.ok).toBe(false);
    expect(roundtrip.detail).toMatch(/^NOPERM/);
    expect(roundtrip.diagnosis).toContain(`access policy of oid ${p.oid} does not allow SET`);
    expect(roundtrip.fix).toMatch(/Data Contributor.*--read-only/);

    const readOnly = await checkJson([...servicePrincipalArgs(p.clientId), '--read-only'], env);
    expect(readOnly.result.code).toBe(0);
    expect(readOnly.report.ok).toBe(true);
    expect(readOnly.stage('roundtrip')).toMatchObject({ ok: true, skipped: true });
  });

  it('wrong secret: AADSTS7000215 from the identity endpoint, explained', async () => {
    const { result, stage } = await checkJson(
      servicePrincipalArgs(emulator.servicePrincipal.clientId),
      { CHECK_SECRET: 'not-the-secret-value-1234' },
    );
    expect(result.code).toBe(1);
    const token = stage('token');
    expect(token.ok).toBe(false);
    expect(token.detail).toMatch(/^AADSTS7000215: Invalid client secret/);
    expect(token.diagnosis).toContain('AADSTS7000215 (invalid client secret)');
    expect(token.fix).toContain('--secret-env');
    expect(stage('auth')).toMatchObject({ skipped: true, detail: 'not run: no token' });
  });

  it('wrong audience (--scope management): WRONGPASS explained as the audience', async () => {
    const { result, stage } = await checkJson(['--scope', 'https://management.azure.com/.default']);
    expect(result.code).toBe(1);
    expect(stage('token').detail).toContain('aud=https://management.azure.com');
    const auth = stage('auth');
    expect(auth.diagnosis).toMatch(/^wrong audience: the token is for "https:\/\/management/);
    expect(auth.fix).toContain('--scope https://redis.azure.com/.default');
  });

  it('username other than the oid: WRONGPASS explained', async () => {
    const { stage } = await checkJson(['--username', 'someone']);
    expect(stage('auth').diagnosis).toContain('"someone" is not the token\'s object id');
  });

  it('untrusted CA: TLS diagnosis points to --ca; the token side to NODE_EXTRA_CA_CERTS', async () => {
    const untrusted = await checkJson([], { NODE_EXTRA_CA_CERTS: undefined });
    expect(untrusted.result.code).toBe(1);
    const tls = untrusted.stage('tls');
    expect(tls.ok).toBe(false);
    expect(tls.diagnosis).toContain('not signed by a CA this machine trusts');
    expect(tls.fix).toContain('--ca <pem file>');
    const token = untrusted.stage('token');
    expect(token.ok).toBe(false);
    expect(token.diagnosis).toContain('TLS certificate of the identity endpoint');
    expect(token.fix).toContain('NODE_EXTRA_CA_CERTS');

    const withCa = await checkJson(['--ca', emulator.caCertPath], {
      NODE_EXTRA_CA_CERTS: undefined,
    });
    expect(withCa.stage('tls').ok).toBe(true);
  });

  it('plaintext port: TLS fails with a plaintext / wrong-protocol diagnosis', async () => {
    const plainPort = emulator.redis.plainPort;
    if (plainPort === undefined) throw new Error('the emulator has no plaintext port');
    const { result, stage } = await cli([
      'check',
      '--host',
      emulator.redis.host,
      '--port',
      String(plainPort),
      '--json',
    ]).then((r) => {
      const report = JSON.parse(r.stdout) as Report;
      return { result: r, stage: (n: string) => report.stages.find((s) => s.name === n)! };
    });
    expect(result.code).toBe(1);
    const tls = stage('tls');
    expect(tls.ok).toBe(false);
    expect(tls.diagnosis).toContain(`port ${plainPort} speaks plaintext Redis, not TLS`);
    expect(tls.fix).toMatch(/6380.*10000.*TLS only/);
  });

  it('clock skew: a token whose nbf lies in the future is explained as clock skew', async () => {
    const fault = emulator.identity.faults.inject({
      kind: 'clock-skew',
      nbfOffsetSec: 300,
      durationMs: 10_000,
    });
    try {
      const { result, stage } = await checkJson([]);
      expect(fault.affected).toBeGreaterThan(0);
      expect(result.code).toBe(1);
      expect(stage('token').detail).toContain('ahead of the local clock');
      const auth = stage('auth');
      expect(auth.detail).toContain('WRONGPASS');
      expect(auth.diagnosis).toMatch(/^token not yet valid: .*clock skew/);
      expect(auth.fix).toContain('synchronise');
    } finally {
      fault.cancel();
    }
  });

  it('connection refused on a closed port', async () => {
    const port = await freePort();
    const { result, stage } = await cli([
      'check',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--json',
    ]).then((r) => {
      const report = JSON.parse(r.stdout) as Report;
      return { result: r, stage: (n: string) => report.stages.find((s) => s.name === n)! };
    });
    expect(result.code).toBe(1);
    const tcp = stage('tcp');
    expect(tcp.detail).toContain('ECONNREFUSED');
    expect(tcp.diagnosis).toContain(`nothing accepts connections on port ${port}`);
    expect(stage('tls')).toMatchObject({ ok: false, skipped: true });
  });

  it('port follows the host kind (6380 cache, 10000 managed); DNS failure explained', async () => {
    const [cache, managed] = await Promise.all(
      ['nosuchcache.redis.cache.windows.net', 'nosuch.westeurope.redis.azure.net'].map((host) =>
        cli(['check', '--host', host, '--json', '--timeout', '3']),
      ),
    );
    const c = JSON.parse(cache!.stdout) as Report;
    const m = JSON.parse(managed!.stdout) as Report;
    expect(c.port).toBe(6380);
    expect(m.port).toBe(10000);
    expect(c.stages[0]).toMatchObject({ name: 'dns', ok: false });
    expect(c.stages[0]!.diagnosis).toMatch(/DNS/);
  });
});

describe('entra-redis token', () => {
  it('prints the decoded claims and never the token', async () => {
    const text = await cli(['token']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^oid +${emulator.servicePrincipal.oid}$`, 'm'));
    expect(text.stdout).toMatch(/^aud +https:\/\/redis\.azure\.com$/m);
    expect(text.stdout).toMatch(new RegExp(`^appid +${emulator.servicePrincipal.clientId}$`, 'm'));
    expect(text.stdout).toMatch(/^exp +\S+Z \(\d+\)$/m);
    expect(text.stdout).toMatch(/^time left +(59m|1h 00m) \d\ds$/m);
    expect(text.stdout + text.stderr).not.toMatch(JWT);

    const json = await cli(['token', '--json']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { claims: Record<string, unknown> };
    expect(parsed.claims).toMatchObject({
      oid: emulator.servicePrincipal.oid,
      tid: emulator.tenantId,
      aud: 'https://redis.azure.com',
    });
    expect(parsed).not.toHaveProperty('token');
    expect(json.stdout + json.stderr).not.toMatch(JWT);
  });

  it('--raw prints the token alone on stdout and a warning on stderr', async () => {
    const raw = await cli(['token', '--raw']);
    expect(raw.code).toBe(0);
    const token = raw.stdout.trim();
    expect(token).toMatch(new RegExp(`^${JWT.source}$`));
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
      oid: string;
    };
    expect(payload.oid).toBe(emulator.servicePrincipal.oid);
    expect(raw.stderr).toContain('WARNING');
    expect(raw.stderr).not.toContain(token);
    outputs.splice(outputs.indexOf(raw.stdout), 1);
  });

  it('a failed token request exits 1 with the AADSTS diagnosis', async () => {
    const result = await cli(
      ['token', ...servicePrincipalArgs('11111111-1111-4111-8111-0000000000ff')],
      { CHECK_SECRET: 'whatever-secret-9876' },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('AADSTS700016');
    expect(result.stderr).toContain('--client-id');
  });
});

describe('bad input exits 2 with what is wrong and what to do', () => {
  const cases: [string, string[], Record<string, string | undefined>, RegExp][] = [
    ['bad port', ['--port', '70000'], {}, /--port must be a TCP port number between 1 and 65535/],
    [
      'missing --tenant-id',
      ['--auth', 'service-principal', '--client-id', '11111111-1111-4111-8111-000000000001'],
      {},
      /needs --tenant-id/,
    ],
    [
      'both --secret-env and --certificate',
      ['--secret-env', 'X', '--certificate', '/tmp/x.pem'],
      { X: 'y' },
      /either --secret-env or --certificate, not both/,
    ],
    [
      'unset secret env var',
      ['--secret-env', 'ENTRA_REDIS_CLI_UNSET'],
      { ENTRA_REDIS_CLI_UNSET: undefined },
      /ENTRA_REDIS_CLI_UNSET is not set or empty; put the client secret in it/,
    ],
    [
      'unreadable certificate',
      ['--certificate', '/nonexistent/cert.pem'],
      {},
      /--certificate \/nonexistent\/cert\.pem: the file cannot be read \(ENOENT\)/,
    ],
    ['unknown --auth', ['--auth', 'magic'], {}, /Allowed choices are default, managed-identity/],
    ['not a duration', ['--watch', '5 minutes'], {}, /--watch must be a duration such as 30s, 90m/],
    ['watch too short', ['--watch', '500ms'], {}, /--watch must be between 1s and 168h/],
    [
      '--refresh-every without --watch',
      ['--refresh-every', '1m'],
      {},
      /--refresh-every applies to --watch; add --watch <duration>/,
    ],
    [
      '--refresh-every not shorter than --watch',
      ['--watch', '1m', '--refresh-every', '90s'],
      {},
      /--refresh-every \(1m 30s\) must be shorter than --watch \(1m\)/,
    ],
    [
      'workload identity without a token file',
      [
        '--auth',
        'workload-identity',
        '--tenant-id',
        'contoso.onmicrosoft.com',
        '--client-id',
        '11111111-1111-4111-8111-000000000001',
      ],
      { AZURE_FEDERATED_TOKEN_FILE: undefined },
      /--auth workload-identity needs --token-file <path> \(or AZURE_FEDERATED_TOKEN_FILE/,
    ],
    [
      '--token-file with another --auth',
      ['--auth', 'managed-identity', '--token-file', '/tmp/x'],
      {},
      /--token-file does not apply to --auth managed-identity; remove it/,
    ],
  ];
  it.each(cases)('%s', async (_name, extra, env, message) => {
    const spArgs = extra.some((a) => a === '--secret-env' || a === '--certificate')
      ? [
          '--auth',
          'service-principal',
          '--tenant-id',
          'contoso.onmicrosoft.com',
          '--client-id',
          '11111111-1111-4111-8111-000000000001',
        ]
      : [];
    const result = await cli(
      ['check', '--host', 'contoso.redis.cache.windows.net', ...spArgs, ...extra],
      env,
    );
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  });
});

describe('without a terminal, nothing is asked', () => {
  it('check without --host exits 2 and says what to pass (no prompt when piped)', async () => {
    const result = await cli(['check']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/--host <name> is required: the cache host, e.g. --host contoso/);
  });
});

describe('no secret or token in any output', () => {
  it('has no JWT and no client secret in anything printed above (except --raw stdout)', () => {
    expect(outputs.length).toBeGreaterThan(20);
    const all = outputs.join('\n');
    expect(all).not.toMatch(JWT);
    for (const sp of emulator.tenant.config.servicePrincipals) {
      if (sp.secret) expect(all).not.toContain(sp.secret);
    }
    expect(all).not.toContain('not-the-secret-value-1234');
  });
});

describe('CLI internals', () => {
  it('names the cache in the access policy fix only when the host name tells it', () => {
    const fix = (host: string) =>
      assignPolicyFix('oid-1', { host, port: 6380, kind: hostKind(host) });
    expect(fix('contoso.redis.cache.windows.net')).toContain('--name contoso ');
    expect(fix('contoso.westeurope.redis.azure.net')).toContain('--cluster-name contoso ');
    for (const host of ['127.0.0.1', 'localhost', 'redis.internal.example']) {
      expect(fix(host)).toContain('--name <cache-name> ');
      expect(fix(host)).toContain('--cluster-name <cache-name> ');
    }
  });

  it('maps host names to the service and its TLS port', () => {
    const cases: [string, string, number][] = [
      ['contoso.redis.cache.windows.net', 'cache', 6380],
      ['contoso.privatelink.redis.cache.windows.net', 'cache', 6380],
      ['contoso.redis.cache.chinacloudapi.cn', 'cache', 6380],
      ['contoso.redis.cache.usgovcloudapi.net', 'cache', 6380],
      ['contoso.westeurope.redis.azure.net', 'managed', 10000],
      ['contoso.westeurope.redisenterprise.cache.azure.net', 'managed', 10000],
      ['redis.cache.windows.net', 'other', 6380],
      ['localhost', 'other', 6380],
    ];
    for (const [host, kind, port] of cases) {
      expect(hostKind(host), host).toBe(kind);
      expect(defaultPort(hostKind(host)), host).toBe(port);
    }
  });

  it('reads RESP2 replies split across chunks', () => {
    const bytes = Buffer.from(
      '+OK\r\n-NOPERM no\r\n:1\r\n$5\r\nhello\r\n$-1\r\n*2\r\n:1\r\n$1\r\nx\r\n',
    );
    const replies = [];
    let offset = 0;
    for (;;) {
      const parsed = parseReply(bytes, offset);
      if (!parsed) break;
      replies.push(parsed.reply);
      offset = parsed.next;
    }
    expect(offset).toBe(bytes.length);
    expect(replies).toEqual([
      { kind: 'simple', value: 'OK' },
      { kind: 'error', message: 'NOPERM no' },
      { kind: 'integer', value: 1 },
      { kind: 'bulk', value: 'hello' },
      { kind: 'bulk', value: null },
      {
        kind: 'array',
        value: [
          { kind: 'integer', value: 1 },
          { kind: 'bulk', value: 'x' },
        ],
      },
    ]);
    expect(parseReply(Buffer.from('$5\r\nhel'), 0)).toBeUndefined();
    expect(() => parseReply(Buffer.from('\x16\x03\x01\r\n'), 0)).toThrow(/not a RESP2 reply/);
  });
});
