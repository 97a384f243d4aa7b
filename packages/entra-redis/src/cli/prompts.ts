// `entra-redis check` on a terminal without identity options asks, like the Azure sample app:
// the cache (when --host is missing), the kind of identity, then what that kind needs. The
// answers become the same flags a script would pass. Prompts come from @inquirer (loaded only
// here); the secret is typed without echo and never printed.

import { unreadable, type AuthFlags } from './auth-options.js';
import { defaultPort, hostKind } from './hosts.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i;

/** What the identity prompts answer: the flags they stand for. */
export type IdentityAnswers = Pick<
  AuthFlags,
  'auth' | 'tenantId' | 'clientId' | 'certificate' | 'tokenFile' | 'typedSecret'
>;

/** The identity flags; any of them on the command line means "no prompts". */
const IDENTITY_FLAGS = ['auth', 'tenantId', 'clientId', 'secretEnv', 'certificate', 'tokenFile'];

/** Whether prompts may be shown: a terminal on both stdin and stdout, and no --json. */
export function canPrompt(json: boolean): boolean {
  return !json && process.stdin.isTTY === true && process.stdout.isTTY === true;
}

/** Whether the command line already names the identity (or part of it). */
export function hasIdentityFlags(flags: IdentityAnswers & { secretEnv?: string }): boolean {
  return IDENTITY_FLAGS.some((key) => flags[key as keyof typeof flags] !== undefined);
}

type Choice =
  | 'default'
  | 'managed-identity'
  | 'sp-secret'
  | 'sp-certificate'
  | 'workload-identity'
  | 'interactive';

const CHOICES: { value: Choice; name: string; description: string }[] = [
  {
    value: 'default',
    name: 'Default (DefaultAzureCredential)',
    description: 'environment variables, workload identity, managed identity, Azure CLI, …',
  },
  {
    value: 'managed-identity',
    name: 'Managed identity',
    description: 'system-assigned, or user-assigned by client id',
  },
  { value: 'sp-secret', name: 'Service principal with a client secret', description: '' },
  {
    value: 'sp-certificate',
    name: 'Service principal with a certificate',
    description: 'a PEM file with the certificate and its private key',
  },
  {
    value: 'workload-identity',
    name: 'Workload identity',
    description: 'Kubernetes (AKS) federated token',
  },
  { value: 'interactive', name: 'Interactive user', description: 'sign in with a browser' },
];

async function inquirer() {
  const [select, input, password] = await Promise.all([
    import('@inquirer/select'),
    import('@inquirer/input'),
    import('@inquirer/password'),
  ]);
  return { select: select.default, input: input.default, password: password.default };
}

const guid = (what: string) => (value: string) =>
  GUID.test(value.trim()) || `${what} is a GUID such as 11111111-2222-3333-4444-555555555555`;
const tenant = (value: string) =>
  GUID.test(value.trim()) ||
  DOMAIN.test(value.trim()) ||
  'a tenant id is a GUID or a domain such as contoso.onmicrosoft.com';
const readable = (what: string) => (value: string) => {
  const why = unreadable(value.trim());
  return why === undefined || `cannot read ${what} ${value.trim()} (${why})`;
};
const hostName = (value: string) =>
  (value.trim() !== '' && !/[\s/:]/.test(value.trim())) ||
  'a host name such as contoso.redis.cache.windows.net (no scheme, no port)';

/** Asks for the cache host name and port. */
export async function promptTarget(): Promise<{ host: string; port: string }> {
  const { input } = await inquirer();
  const host = (
    await input({
      message: 'Cache host name (e.g. contoso.redis.cache.windows.net):',
      validate: hostName,
    })
  ).trim();
  const port = await input({
    message: 'Port:',
    default: String(defaultPort(hostKind(host))),
    validate: (v) =>
      (/^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 65535) || 'a TCP port, 1 to 65535',
  });
  return { host, port: port.trim() };
}

/** Asks for the kind of identity and what it needs; returns the flags they stand for. */
export async function promptIdentity(): Promise<IdentityAnswers> {
  const { select, input, password } = await inquirer();
  const env = process.env;
  const kind = await select<Choice>({
    message: 'Which identity should connect to the cache?',
    choices: CHOICES.map(({ value, name, description }) =>
      description ? { value, name, description } : { value, name },
    ),
    default: 'default',
  });
  const ask = async (message: string, validate: (v: string) => true | string, def?: string) =>
    (await input({ message, validate, ...(def ? { default: def } : {}) })).trim();
  const tenantId = () => ask('Tenant (directory) id:', tenant, env.AZURE_TENANT_ID);
  const clientId = () =>
    ask('Application (client) id:', guid('an application id'), env.AZURE_CLIENT_ID);
  switch (kind) {
    case 'default':
      return { auth: 'default' };
    case 'managed-identity': {
      const id = (
        await input({
          message: 'Client id of a user-assigned identity (Enter for the system-assigned one):',
          validate: (v) => v.trim() === '' || guid('a client id')(v),
        })
      ).trim();
      return { auth: 'managed-identity', ...(id ? { clientId: id } : {}) };
    }
    case 'sp-secret': {
      const flags = {
        auth: 'service-principal',
        tenantId: await tenantId(),
        clientId: await clientId(),
      };
      const typedSecret = await password({
        message: 'Client secret (not shown as you type):',
        toggleMask: false,
        validate: (v) => v !== '' || 'type the secret value (not its id)',
      });
      return { ...flags, typedSecret };
    }
    case 'sp-certificate':
      return {
        auth: 'service-principal',
        tenantId: await tenantId(),
        clientId: await clientId(),
        certificate: await ask(
          'Certificate file (PEM with the certificate and its private key):',
          readable('the file'),
          env.AZURE_CLIENT_CERTIFICATE_PATH,
        ),
      };
    case 'workload-identity':
      return {
        auth: 'workload-identity',
        tenantId: await tenantId(),
        clientId: await clientId(),
        tokenFile: await ask(
          'Federated token file:',
          readable('the file'),
          env.AZURE_FEDERATED_TOKEN_FILE,
        ),
      };
    case 'interactive':
      return {
        auth: 'interactive',
        tenantId: await ask(
          'Tenant (directory) id, or "organizations":',
          (v) => v.trim() === 'organizations' || tenant(v),
          'organizations',
        ),
        clientId: await ask(
          'Application (client) id of a public client app (redirect URI http://localhost):',
          guid('an application id'),
        ),
      };
  }
}

/** Quotes `arg` for a POSIX shell when it needs it. */
function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command that runs the same check without prompts (the secret becomes `--secret-env`). */
export function equivalentCommand(
  target: { host: string; port?: string | undefined },
  flags: IdentityAnswers,
): string {
  const args = ['entra-redis', 'check', '--host', target.host];
  if (target.port !== undefined) args.push('--port', target.port);
  args.push('--auth', flags.auth ?? 'default');
  if (flags.tenantId) args.push('--tenant-id', flags.tenantId);
  if (flags.clientId) args.push('--client-id', flags.clientId);
  if (flags.certificate) args.push('--certificate', flags.certificate);
  if (flags.tokenFile) args.push('--token-file', flags.tokenFile);
  const line = args.map(quote).join(' ');
  return flags.typedSecret !== undefined
    ? `${line} --secret-env <VAR>  (VAR: an environment variable holding the secret)`
    : line;
}
