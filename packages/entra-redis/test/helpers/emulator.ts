// Shared integration fixture: a real emulator (identity provider + redis-server behind the
// validating front end) with short-lived tokens, and token sources wired to it through the
// real @azure/identity ClientSecretCredential.
import { startEmulator, type Emulator, type EmulatorOptions } from '@entra-redis/emulator';
import { servicePrincipalSecret, TokenSource, type TokenSourceOptions } from 'entra-redis';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running emulator and the temp state dir it uses; `close()` removes both. */
export interface TestEmulator {
  emulator: Emulator;
  /** A token source for the emulator's default service principal (Data Owner). */
  tokenSource(options?: Partial<TokenSourceOptions>): TokenSource;
  /** Stops every token source made here, then the emulator, and removes the state dir. */
  close(): Promise<void>;
}

/** Starts an emulator with `tokenLifetimeSec` (default 4) in a temp state dir. */
export async function startTestEmulator(
  options: EmulatorOptions & { tokenLifetimeSec?: number } = {},
): Promise<TestEmulator> {
  const stateDir = await mkdtemp(join(tmpdir(), 'entra-redis-it-'));
  const emulator = await startEmulator({ tokenLifetimeSec: 4, ...options, stateDir });
  const sources: TokenSource[] = [];
  return {
    emulator,
    tokenSource(overrides = {}) {
      const source = new TokenSource({
        credential: servicePrincipalSecret({
          tenantId: emulator.tenantId,
          clientId: emulator.servicePrincipal.clientId,
          clientSecret: emulator.servicePrincipal.clientSecret,
          ...emulator.credentialOptions(),
        }),
        ...overrides,
      });
      sources.push(source);
      return source;
    },
    async close() {
      await Promise.all(sources.map((s) => s.close()));
      await emulator.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** Resolves after `ms` milliseconds (for integration tests that must span real token lifetimes). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `predicate` every 20 ms until it is true or `timeoutMs` passes (then throws `message`). */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  message = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}`);
    await sleep(20);
  }
}
