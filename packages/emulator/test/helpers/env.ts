// Tests that read credentials from the environment set exactly what they need (the emulator's
// tests and entra-redis's).

/**
 * Runs `fn` with `vars` set and every other variable of `cleared` unset, then restores all of
 * them as they were.
 *
 * @example
 * ```ts
 * await withExactEnv(['AZURE_CLIENT_ID'], { AZURE_TENANT_ID: tenant }, () => check());
 * ```
 */
export async function withExactEnv<T>(
  cleared: readonly string[],
  vars: Record<string, string>,
  fn: () => Promise<T>,
): Promise<T> {
  const keys = [...cleared, ...Object.keys(vars)];
  const saved = new Map(keys.map((k) => [k, process.env[k]]));
  for (const k of keys) delete process.env[k];
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
