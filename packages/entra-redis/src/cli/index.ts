// The `entra-redis` command: `check` (diagnose Entra ID auth to a cache) and `token`.
// Exit codes: 0 success, 1 a check or token request failed, 2 bad input.

import { Command, CommanderError, Option } from 'commander';
import { isEntraRedisError } from '../index.js';
import {
  AUTH_KINDS,
  DEFAULT_SCOPE,
  resolveAuth,
  usageError,
  type AuthFlags,
} from './auth-options.js';
import { runCheck } from './check.js';
import { firstLine } from './diagnose.js';
import { defaultPort, hostKind, serviceName } from './hosts.js';
import { loadCa } from './network.js';
import { createTextReporter, SILENT_REPORTER } from './report.js';
import { runToken } from './token-command.js';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

interface CheckFlags extends AuthFlags {
  host: string;
  port?: string;
  ca?: string;
  json?: boolean;
  readOnly?: boolean;
  username?: string;
}
interface TokenFlags extends AuthFlags {
  json?: boolean;
  raw?: boolean;
}

function parsePort(raw: string): number {
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port < 1 || port > 65535) {
    throw usageError(`--port must be a TCP port number between 1 and 65535 (got "${raw}")`);
  }
  return port;
}

function addAuthOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--auth <kind>', 'identity to use').choices(AUTH_KINDS).default('default'),
    )
    .option('--tenant-id <id>', 'tenant (directory) id: service-principal, interactive, default')
    .option(
      '--client-id <id>',
      'application id (service-principal, interactive) or user-assigned managed identity client id',
    )
    .option('--secret-env <VAR>', 'name of the environment variable holding the client secret')
    .option('--certificate <path>', 'PEM file with the client certificate and its private key')
    .option(
      '--authority-host <url>',
      'Entra authority, e.g. https://login.microsoftonline.us (default: AZURE_AUTHORITY_HOST or the public cloud)',
    )
    .option('--scope <scope>', 'scope to request', DEFAULT_SCOPE)
    .option('--timeout <seconds>', 'timeout of each step, in seconds', '10')
    .option('--json', 'print one JSON object on stdout and nothing else');
}

async function check(flags: CheckFlags): Promise<number> {
  const host = flags.host.trim();
  if (host === '' || /[\s/:]/.test(host)) {
    throw usageError(
      `--host must be a host name such as contoso.redis.cache.windows.net (got "${flags.host}")`,
    );
  }
  const kind = hostKind(host);
  const port = flags.port === undefined ? defaultPort(kind) : parsePort(flags.port);
  const auth = resolveAuth(flags);
  const ca = loadCa(flags.ca);
  if (flags.username !== undefined && flags.username.trim() === '') {
    throw usageError("--username must not be empty (default: the token's oid claim)");
  }
  const out = process.stdout;
  if (!flags.json) {
    const assumed =
      flags.port === undefined && kind === 'other' ? '; port 6380 assumed, use --port' : '';
    out.write(
      `entra-redis check ${host}:${port} (${serviceName(kind)}${assumed}), --auth ${auth.kind}\n`,
    );
  }
  const report = await runCheck(
    {
      target: { host, port, kind },
      auth,
      ca,
      readOnly: flags.readOnly === true,
      ...(flags.username !== undefined ? { username: flags.username.trim() } : {}),
    },
    flags.json ? SILENT_REPORTER : createTextReporter(out),
  );
  if (flags.json) {
    out.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const failed = report.stages.filter((r) => !r.ok && !r.skipped).length;
    out.write(
      report.ok ? 'All checks passed.\n' : `${failed} check(s) failed; see the diagnosis above.\n`,
    );
  }
  return report.ok ? 0 : EXIT_FAILED;
}

function program(setExit: (code: number) => void): Command {
  const root = new Command('entra-redis')
    .description(
      'Diagnose Microsoft Entra ID authentication to Azure Cache for Redis / Azure Managed Redis',
    )
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  addAuthOptions(
    root
      .command('check')
      .description('check DNS, TCP, TLS, token, AUTH, PING and SET/GET/DEL; explain any failure')
      .requiredOption('--host <name>', 'cache host, e.g. contoso.redis.cache.windows.net')
      .option(
        '--port <port>',
        'port (default: 6380 Azure Cache for Redis, 10000 Azure Managed Redis)',
      )
      .option('--ca <pem>', 'extra CA certificate (PEM) to trust for the Redis TLS connection')
      .option('--read-only', 'skip the SET/GET/DEL round trip (for read-only access policies)')
      .option('--username <name>', "Redis username (default: the token's oid claim)"),
  ).action(async (flags: CheckFlags) => setExit(await check(flags)));
  addAuthOptions(
    root
      .command('token')
      .description('acquire a token and print its decoded claims (never the token, unless --raw)')
      .option('--raw', 'print the raw access token on stdout (a secret: a warning goes to stderr)'),
  ).action(async (flags: TokenFlags) =>
    setExit(
      await runToken({
        auth: resolveAuth(flags),
        json: flags.json === true,
        raw: flags.raw === true,
      }),
    ),
  );
  return root;
}

const FLAG_NAMES: Record<string, string> = {
  tenantId: '--tenant-id',
  clientId: '--client-id',
  authorityHost: '--authority-host',
  certificatePath: '--certificate',
  clientSecret: 'the secret in --secret-env',
  scopes: '--scope',
  username: '--username',
};

/** The core names its options (`"tenantId"`); say which flag that is. */
function withFlagNames(message: string): string {
  return message.replace(/"(\w+)"/g, (all, name: string) =>
    FLAG_NAMES[name] ? `${FLAG_NAMES[name]} ("${name}")` : all,
  );
}

async function main(argv: readonly string[]): Promise<number> {
  let code = 0;
  try {
    await program((c) => (code = c)).parseAsync([...argv]);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.exitCode === 0
        ? 0
        : EXIT_USAGE;
    }
    if (isEntraRedisError(error) && error.code === 'INVALID_OPTION') {
      process.stderr.write(`${withFlagNames(error.message)}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`entra-redis: unexpected error: ${firstLine(error)}\n`);
    return EXIT_FAILED;
  }
}

const exitCode = await main(process.argv);
process.exitCode = exitCode;
// Libraries may keep idle sockets (HTTP keep-alive) open; do not wait for them.
setTimeout(() => process.exit(exitCode), 200).unref();
