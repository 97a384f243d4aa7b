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
