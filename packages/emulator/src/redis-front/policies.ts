/**
 * Azure's built-in data access policies and their Redis ACL permissions, exactly as
 * `az redis access-policy list` reports them for Azure Cache for Redis.
 *
 * @example
 * ```ts
 * BUILTIN_ACCESS_POLICIES['Data Reader']; // '+@read +@connection +cluster|info ...'
 * ```
 */
export const BUILTIN_ACCESS_POLICIES: Readonly<Record<string, string>> = Object.freeze({
  'Data Owner': '+@all allkeys',
  'Data Contributor': '+@all -@dangerous +cluster|info +cluster|nodes +cluster|slots allkeys',
  'Data Reader': '+@read +@connection +cluster|info +cluster|nodes +cluster|slots allkeys',
});

/**
 * Commands Azure's caches refuse whatever the access policy (administration, persistence,
 * replication and cluster topology belong to the service), as ACL rules applied after each
 * policy's own. Each is applied on its own and skipped if redis-server does not know it
 * (removing a subcommand needs Redis 7). `MONITOR`, `FLUSHALL` and `KEYS` stay as the policy says.
 *
 * @example
 * ```ts
 * AZURE_BLOCKED_COMMANDS.includes('-config'); // true
 * ```
 */
export const AZURE_BLOCKED_COMMANDS: readonly string[] = Object.freeze([
  '-acl',
  '-bgrewriteaof',
  '-bgsave',
  '-config',
  '-debug',
  '-failover',
  '-migrate',
  '-module',
  '-psync',
  '-replicaof',
  '-save',
  '-shutdown',
  '-slaveof',
  '-sync',
  ...[
    'addslots',
    'addslotsrange',
    'bumpepoch',
    'delslots',
    'delslotsrange',
    'failover',
    'flushslots',
    'forget',
    'meet',
    'replicate',
    'reset',
    'saveconfig',
    'set-config-epoch',
    'setslot',
  ].map((sub) => `-cluster|${sub}`),
]);

/** One access policy backed by a Redis ACL user. */
export interface AclPolicyUser {
  policy: string;
  user: string;
  password: string;
  /** Arguments after `ACL SETUSER <user>`. */
  rules: string[];
}

/**
 * Builds the ACL users for the built-in and custom policies. Azure's caches run Redis 6, where
 * users get `allchannels` by default; Redis 7 defaults to `resetchannels`, so `allchannels` is
 * put first (a custom rule such as `resetchannels &news:*` still overrides it).
 */
export function buildPolicyUsers(
  custom: Record<string, string> | undefined,
  randomPassword: () => string,
): Map<string, AclPolicyUser> {
  const all: Record<string, string> = { ...BUILTIN_ACCESS_POLICIES, ...custom };
  const users = new Map<string, AclPolicyUser>();
  let i = 0;
  for (const [policy, permissions] of Object.entries(all)) {
    const slug = policy.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase();
    const user = `entra-policy-${i++}-${slug}`;
    const password = randomPassword();
    const rules = [
      'reset',
      'on',
      `>${password}`,
      'allchannels',
      ...permissions.split(/\s+/).filter(Boolean),
    ];
    users.set(policy, { policy, user, password, rules });
  }
  return users;
}
