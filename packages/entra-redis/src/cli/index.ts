// The `entra-redis` command: `check` (diagnose Entra ID auth to a cache, optionally watching the
// connections past a token's life) and `token`.
// Exit codes: 0 success, 1 a check or token request failed, 2 bad input, 130 prompts cancelled.

import { Command, CommanderError, Option } from 'commander';
import { isEntraRedisError } from '../index.js';
import { AUTH_KINDS, DEFAULT_SCOPE, resolveAuth, type AuthFlags } from './auth-options.js';
import { check, type CheckFlags } from './check-command.js';
import { firstLine } from './diagnose.js';
import { runToken } from './token-command.js';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_CANCELLED = 130;

interface TokenFlags extends AuthFlags {
  json?: boolean;
  raw?: boolean;
}

function addAuthOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--auth <kind>',
        'identity to use (default: "default", DefaultAzureCredential)',
      ).choices(AUTH_KINDS),
    )
    .option(
      '--tenant-id <id>',
      'tenant (directory) id: service-principal, workload-identity, interactive, default',
    )
    .option(
      '--client-id <id>',
      'application id (service-principal, workload-identity, interactive) or user-assigned managed identity client id',
    )
    .option('--secret-env <VAR>', 'name of the environment variable holding the client secret')
    .option('--certificate <path>', 'PEM file with the client certificate and its private key')
    .option(
      '--token-file <path>',
      'federated token file for workload-identity (default: AZURE_FEDERATED_TOKEN_FILE)',
    )
    .option(
      '--authority-host <url>',
      'Entra authority, e.g. https://login.microsoftonline.us (default: AZURE_AUTHORITY_HOST or the public cloud)',
    )
    .option('--scope <scope>', 'scope to request', DEFAULT_SCOPE)
    .option('--timeout <seconds>', 'timeout of each step, in seconds', '10')
    .option('--json', 'print one JSON object on stdout and nothing else (never prompts)');
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
      .description(
        'check DNS, TCP, TLS, token, AUTH, PING (on every node of a cluster) and SET/GET/DEL; ' +
          'explain any failure. On a terminal without identity options, asks for them',
      )
      .option(
        '--host <name>',
        'cache host, e.g. contoso.redis.cache.windows.net (asked for on a terminal when missing)',
      )
      .option(
        '--port <port>',
        'port (default: 6380 Azure Cache for Redis, 10000 Azure Managed Redis)',
      )
      .option('--ca <pem>', 'extra CA certificate (PEM) to trust for the Redis TLS connection')
      .option('--read-only', 'skip the SET/GET/DEL round trip (for read-only access policies)')
      .option('--username <name>', "Redis username (default: the token's oid claim)")
      .option(
        '--watch <duration>',
        'after the checks pass, keep every connection open for this long (e.g. 30s, 90m): PING ' +
          'each every 5s and re-AUTH it in place on every new token; Ctrl-C ends it',
      )
      .option(
        '--refresh-every <duration>',
        'with --watch: ask for a fresh token this often (e.g. 1m) instead of at about 3/4 of ' +
          'its life (real tokens live 60-90 minutes)',
      ),
  )
    .addHelpText(
      'after',
      `
Examples:
  entra-redis check                  on a terminal: asks for the cache and the identity
  entra-redis check --host contoso.redis.cache.windows.net --auth managed-identity
  entra-redis check --host contoso.westeurope.redis.azure.net --watch 5m --refresh-every 1m

Exit codes: 0 every check (and the watch) passed, 1 a check or the watch failed,
2 bad input, 130 cancelled at a prompt. Guide: docs/cli.md in the entra-redis repository.`,
    )
    .action(async (flags: CheckFlags) => setExit(await check(flags)));
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
  tokenFilePath: '--token-file',
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
    if ((error as { name?: unknown } | null)?.name === 'ExitPromptError') {
      process.stderr.write('entra-redis: cancelled\n');
      return EXIT_CANCELLED;
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
