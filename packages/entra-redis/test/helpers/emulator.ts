// Shared integration fixture: a real emulator (identity provider + redis-server behind the
// validating front end) with short-lived tokens, and token sources wired to it through the
// real @azure/identity ClientSecretCredential.
import { startEmulator, type Emulator, type EmulatorOptions } from '@entra-redis/emulator';
import { servicePrincipalSecret, TokenSource, type TokenSourceOptions } from 'entra-redis';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

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

/**
 * The emulator of the enclosing `describe` (or file): started before its tests, closed after
 * them. The object returned stands for it from then on, so a suite can hand it to helpers at
 * definition time; used outside the suite's tests it throws.
 */
export function suiteEmulator(options: Parameters<typeof startTestEmulator>[0] = {}): TestEmulator {
  let started: TestEmulator | undefined;
  beforeAll(async () => {
    started = await startTestEmulator(options);
  });
  afterAll(() => started?.close());
  const get = (): TestEmulator => {
    if (!started) throw new Error('the suite emulator is used before its suite started it');
    return started;
  };
  return {
    get emulator() {
      return get().emulator;
    },
    tokenSource: (overrides) => get().tokenSource(overrides),
    close: () => get().close(),
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
