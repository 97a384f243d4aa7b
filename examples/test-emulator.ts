// Shared by the example tests (not part of any example): an emulator with short-lived tokens, in
// a temporary state directory, and a token source for its service principal (Data Owner), built
// with the real @azure/identity as an application would.
import { startEmulator, type Emulator } from '@entra-redis/emulator';
import { createTokenSource, servicePrincipalSecret, type TokenSource } from 'entra-redis';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A running emulator, settings an example connects with, and a rotation counter. */
export interface ExampleEmulator {
  readonly emulator: Emulator;
  /** Shaped like each example's `CacheSettings`. */
  readonly settings: {
    readonly host: string;
    readonly port: number;
    readonly ca: string;
    readonly tokenSource: TokenSource;
  };
  /** Tokens that replaced an earlier one since start: each re-authenticates every connection. */
  rotations(): number;
  /** Stops the token source and the emulator and removes the state directory. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the emulator with `tokenLifetimeSec` second tokens (the token source then refreshes
 * about once a second) and fetches the first token.
 *
 * @example
 * ```ts
 * const env = await startExampleEmulator(3);
 * const redis = await connectRedis(env.settings);
 * ```
 */
export async function startExampleEmulator(tokenLifetimeSec = 3): Promise<ExampleEmulator> {
  const stateDir = await mkdtemp(join(tmpdir(), 'entra-redis-example-'));
  const emulator = await startEmulator({ tokenLifetimeSec, stateDir });
  const tokenSource = createTokenSource({
    credential: servicePrincipalSecret({
      tenantId: emulator.tenantId,
      clientId: emulator.servicePrincipal.clientId,
      clientSecret: emulator.servicePrincipal.clientSecret,
      ...emulator.credentialOptions(),
    }),
  });
  let rotations = 0;
  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    await tokenSource.close();
    await emulator.close();
    await rm(stateDir, { recursive: true, force: true });
  };
  try {
    await tokenSource.getCredentials();
  } catch (error) {
    await close();
    throw error;
  }
  tokenSource.onCredentials(() => (rotations += 1));
  return {
    emulator,
    settings: {
      host: emulator.redis.host,
      port: emulator.redis.port,
      ca: emulator.caCertPem,
      tokenSource,
    },
    rotations: () => rotations,
    close: () => (closing ??= close()),
  };
}

/**
 * Polls `predicate` every 50 ms until it holds; throws naming `what` after `timeoutMs`.
 *
 * @example
 * ```ts
 * await waitFor(() => env.rotations() >= 3, 20_000, '3 token rotations');
 * ```
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * A note for a test's name when this Node.js is outside an example's `engines` (of the forms
 * `^22.13.0` and `>=24` joined by `||`): the test then runs as information, visibly, and the
 * README says what the example supports. Empty when inside.
 */
export function enginesNote(engines: string, version = process.versions.node): string {
  const [major, minor, patch] = version.split('.').map(Number) as [number, number, number];
  const inside = engines.split('||').some((range) => {
    const m = /^\s*(\^|>=)(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(range);
    if (!m) throw new Error(`enginesNote: unsupported range "${range}"`);
    const [want, wantMinor, wantPatch] = [Number(m[2]), Number(m[3] ?? 0), Number(m[4] ?? 0)];
    const atLeast =
      major !== want ? major > want : minor !== wantMinor ? minor > wantMinor : patch >= wantPatch;
    return m[1] === '>=' ? atLeast : atLeast && major === want;
  });
  return inside
    ? ''
    : ` [Node ${version} is outside this example's engines "${engines}": run as information]`;
}
