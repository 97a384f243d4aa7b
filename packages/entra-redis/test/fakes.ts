// Test doubles shared by the entra-redis unit tests: a manual clock and scripted credentials.
import { createHook } from 'node:async_hooks';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import type { TokenSourceClock } from 'entra-redis';
import {
  createHttpHeaders,
  type HttpClient,
  type PipelineRequest,
} from '@azure/core-rest-pipeline';

/** A manual clock: time moves only through `advance`, timers run in order. */
export class FakeClock implements TokenSourceClock {
  #nowMs = 1_700_000_000_000;
  /** When set, `Date` follows this clock (needs `vi.useFakeTimers({ toFake: ['Date'] })`). */
  syncDate: ((ms: number) => void) | undefined;

  get nowMs(): number {
    return this.#nowMs;
  }

  set nowMs(ms: number) {
    this.#nowMs = ms;
    this.syncDate?.(ms);
  }

  readonly #timers = new Map<number, { atMs: number; fn: () => void }>();
  #nextId = 1;

  now = (): number => this.nowMs;

  setTimeout = (fn: () => void, delayMs: number): number => {
    const id = this.#nextId++;
    this.#timers.set(id, { atMs: this.nowMs + Math.max(0, delayMs), fn });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.#timers.delete(handle as number);
  };

  /** Number of timers not yet run or cleared. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Due times of pending timers, ascending. */
  get dueTimes(): number[] {
    return [...this.#timers.values()].map((t) => t.atMs).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, running due timers in order and letting promises settle. */
  async advance(ms: number): Promise<void> {
    const endMs = this.nowMs + ms;
    for (;;) {
      await flush();
      let next: [number, { atMs: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].atMs <= endMs && (!next || entry[1].atMs < next[1].atMs)) next = entry;
      }
      if (!next) break;
      this.#timers.delete(next[0]);
      this.nowMs = Math.max(this.nowMs, next[1].atMs);
      next[1].fn();
    }
    this.nowMs = endMs;
    await flush();
  }
}

/**
 * Tracks the Node.js timers created from now on, whoever created them and however they got
 * `setTimeout` (the library takes it when it loads); `live()` lists those not yet run or
 * cleared (after a `flush()`: Node reports a cleared timer a moment later). `stop()` ends it.
 */
export function trackTimers(): { live(): Array<{ hasRef(): boolean }>; stop(): void } {
  const live = new Map<number, { hasRef(): boolean }>();
  const hook = createHook({
    init(asyncId, type, _trigger, resource) {
      if (type === 'Timeout') live.set(asyncId, resource as { hasRef(): boolean });
    },
    destroy(asyncId) {
      live.delete(asyncId);
    },
  }).enable();
  return { live: () => [...live.values()], stop: () => hook.disable() };
}

/** Lets pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned JWT-shaped access token (the library never verifies signatures). */
export function makeJwt(claims: Record<string, unknown>): string {
  return `${b64({ alg: 'RS256', typ: 'JWT', kid: 'test' })}.${b64(claims)}.c2lnbmF0dXJl`;
}

export const OID = '6a1c2b3d-0000-4000-8000-00000000a0b1';
export const TID = '72f988bf-86f1-41af-91ab-2d7cd011db47';

let serial = 0;

/** A fresh token valid for `lifetimeMs` from `nowMs`. */
export function issueToken(nowMs: number, lifetimeMs: number, oid = OID): AccessToken {
  const iat = Math.floor(nowMs / 1000);
  const exp = Math.floor((nowMs + lifetimeMs) / 1000);
  serial += 1;
  return {
    token: makeJwt({
      oid,
      tid: TID,
      iat,
      nbf: iat,
      exp,
      aud: 'https://redis.azure.com',
      jti: `t${serial}`,
    }),
    expiresOnTimestamp: exp * 1000,
  };
}

type Handler = (call: {
  scopes: string | string[];
  options?: GetTokenOptions;
  n: number;
}) => AccessToken | null | Promise<AccessToken | null>;

/** A credential whose answers a test scripts; records every call. */
export class ScriptedCredential implements TokenCredential {
  calls = 0;
  readonly signals: AbortSignal[] = [];
  constructor(public handler: Handler) {}

  async getToken(
    scopes: string | string[],
    options?: GetTokenOptions,
  ): Promise<AccessToken | null> {
    this.calls += 1;
    if (options?.abortSignal) this.signals.push(options.abortSignal as AbortSignal);
    return this.handler({ scopes, ...(options ? { options } : {}), n: this.calls });
  }
}

/** A promise with its settle functions exposed. */
export function deferred<T>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** An error shaped like a Node.js network error. */
export function networkError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:443`), { code });
}

export const CLIENT = '0c2b2f5e-1111-4222-8333-944445555666';
export const SECRET = 'test-secret-value-xyz';
export const HOST = 'https://login.entra-redis.test';

/**
 * An in-process Entra ID token endpoint behind an @azure/core-rest-pipeline HttpClient. Tokens
 * live `lifetimeSec` (by `Date`); `keepTokens: false` keeps none of them (for heap measurements).
 * `state.throttleRetryAfterSec` set: answers 429 with a lower-case `retry-after` header.
 */
export function fakeEntra({ lifetimeSec = 3600, keepTokens = true } = {}) {
  const state = {
    down: false,
    refuse: false,
    throttleRetryAfterSec: undefined as number | undefined,
    tokenRequests: 0,
    issued: 0,
    tokens: [] as string[],
  };
  const httpClient: HttpClient = {
    async sendRequest(request: PipelineRequest) {
      const url = new URL(request.url);
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
        request,
        status,
        headers: createHttpHeaders({ 'content-type': 'application/json', ...headers }),
        bodyAsText: JSON.stringify(body),
      });
      if (url.pathname.endsWith('/.well-known/openid-configuration')) {
        return json(200, {
          issuer: `${HOST}/${TID}/v2.0`,
          authorization_endpoint: `${HOST}/${TID}/oauth2/v2.0/authorize`,
          token_endpoint: `${HOST}/${TID}/oauth2/v2.0/token`,
          jwks_uri: `${HOST}/${TID}/discovery/v2.0/keys`,
          end_session_endpoint: `${HOST}/${TID}/oauth2/v2.0/logout`,
          response_modes_supported: ['query', 'fragment', 'form_post'],
        });
      }
      if (url.pathname.endsWith('/oauth2/v2.0/token')) {
        state.tokenRequests += 1;
        if (state.down) {
          return json(500, {
            error: 'server_error',
            error_description: 'AADSTS50000: emulated outage',
            error_codes: [50000],
          });
        }
        if (state.throttleRetryAfterSec !== undefined) {
          const body = {
            error: 'temporarily_unavailable',
            error_description: 'AADSTS50196: emulated throttling',
            error_codes: [50196],
          };
          return json(429, body, { 'retry-after': String(state.throttleRetryAfterSec) });
        }
        if (state.refuse) {
          return json(401, {
            error: 'invalid_client',
            error_description: 'AADSTS7000215: Invalid client secret provided.',
            error_codes: [7000215],
          });
        }
        state.issued += 1;
        const now = Math.floor(Date.now() / 1000);
        const token = makeJwt({
          oid: OID,
          tid: TID,
          iat: now,
          exp: now + lifetimeSec,
          jti: `n${state.issued}`,
        });
        if (keepTokens) state.tokens.push(token);
        return json(200, {
          token_type: 'Bearer',
          expires_in: lifetimeSec,
          ext_expires_in: lifetimeSec,
          access_token: token,
        });
      }
      return json(404, { error: 'not_found' });
    },
  };
  const options = {
    authorityHost: HOST,
    disableInstanceDiscovery: true,
    httpClient,
    retryOptions: { maxRetries: 0 },
  };
  return { state, options };
}
