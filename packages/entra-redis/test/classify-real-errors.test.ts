// The errors the real @azure/identity and msal-node raise in the emulator's fault matrix, as
// classifyError sees them (issue 25): the synthetic shapes of classify.test.ts checked against
// what each installed version actually throws. CI runs this file on Node 20 (@azure/identity
// 4.13, msal-node 5) and on Node 22 and 24 (@azure/identity 4.14, msal-node 7).
import type { TokenCredential } from '@azure/identity';
import type { Fault } from '@entra-redis/emulator';
import { managedIdentity, servicePrincipalSecret } from 'entra-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyError } from '../src/lib/classify.js';
import { toRequestError } from '../src/token/failure.js';
import { startTestEmulator, type TestEmulator } from './helpers/emulator.js';
import { withAzureEnv, describeError, msalLine } from './helpers/msal-lines.js';

const SCOPE = 'https://redis.azure.com/.default';
/** The same resource by its app id: a scope MSAL has no token for yet. */
const OTHER_SCOPE = 'acca5fbb-b7e4-4009-81f1-37e38fd66d78/.default';
/** Long enough for anything to fail inside it; each fault is cancelled once the error is in. */
const FAULT_MS = 60_000;

let env: TestEmulator;
beforeAll(async () => {
  env = await startTestEmulator({ tokenLifetimeSec: 60 });
});
afterAll(() => env?.close());

/** A secret credential; no pipeline retries, so each row shows MSAL's own first answer. */
const secret = (overrides: { clientId?: string; clientSecret?: string } = {}) =>
  servicePrincipalSecret({
    tenantId: env.emulator.tenantId,
    clientId: overrides.clientId ?? env.emulator.servicePrincipal.clientId,
    clientSecret: overrides.clientSecret ?? env.emulator.servicePrincipal.clientSecret,
    ...env.emulator.credentialOptions(),
    retryOptions: { maxRetries: 0 },
  })();

interface Failure {
  readonly error: unknown;
  readonly ms: number;
}

/** The error `getToken` rejects with (fails the test if it resolves), and how long it took. */
async function failure(credential: TokenCredential, scope = SCOPE): Promise<Failure> {
  const started = Date.now();
  const error = await credential.getToken(scope).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'getToken must fail').toBeDefined();
  return { error, ms: Date.now() - started };
}

async function withFault<T>(fault: Fault, body: () => Promise<T>): Promise<T> {
  const handle = env.emulator.identity.faults.inject(fault);
  try {
    return await body();
  } finally {
    handle.cancel();
  }
}

interface Row {
  readonly name: string;
  readonly run: () => Promise<Failure>;
  readonly transient: boolean;
}

const transientFaults: Array<[string, Fault]> = [
  ['HTTP 500', { kind: 'status', status: 500, durationMs: FAULT_MS }],
  ['HTTP 503', { kind: 'status', status: 503, durationMs: FAULT_MS }],
  ['HTTP 429 + Retry-After', { kind: 'throttle', retryAfterSec: 1, durationMs: FAULT_MS }],
  ['refused connections', { kind: 'refuse', durationMs: FAULT_MS }],
  // Held open, then destroyed when the period ends (the token source's timeout comes first).
  ['a hanging request', { kind: 'hang', durationMs: 1_000 }],
];

const rows: Row[] = [];
for (const [label, fault] of transientFaults) {
  rows.push({
    name: `secret, fresh credential: ${label}`,
    run: () => withFault(fault, () => failure(secret())),
    transient: true,
  });
  rows.push({
    name: `secret, warm credential: ${label}`,
    run: async () => {
      const credential = secret();
      await credential.getToken(SCOPE); // authority metadata fetched
      return withFault(fault, () => failure(credential, OTHER_SCOPE));
    },
    transient: true,
  });
}
for (const [label, fault] of transientFaults.slice(0, 3)) {
  rows.push({
    name: `secret, the same credential after the ${label} ended (MSAL's throttling cache)`,
    run: async () => {
      const credential = secret();
      await withFault(fault, () => failure(credential));
      return failure(credential);
    },
    transient: true,
  });
}
rows.push(
  {
    name: 'secret: wrong client secret (AADSTS7000215)',
    run: () => failure(secret({ clientSecret: 'not-the-secret' })),
    transient: false,
  },
  {
    name: 'secret: unknown client id (AADSTS700016)',
    run: () => failure(secret({ clientId: '00000000-0000-4000-8000-000000000001' })),
    transient: false,
  },
  {
    name: 'secret: unknown resource (AADSTS500011)',
    run: () => failure(secret(), 'https://unknown.example/.default'),
    transient: false,
  },
);

// Managed identity with the defaults users get (msal-node retries these requests itself).
for (const [style, names] of [
  ['App Service', ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER']],
  ['IMDS', ['AZURE_POD_IDENTITY_AUTHORITY_HOST']],
] as const) {
  const inEnv = (body: () => Promise<Failure>) => {
    const all = env.emulator.env();
    return withAzureEnv(Object.fromEntries(names.map((k) => [k, all[k] ?? ''])), body);
  };
  for (const [label, fault] of transientFaults.slice(0, 4)) {
    rows.push({
      name: `managed identity (${style}): ${label}`,
      run: () => inEnv(() => withFault(fault, () => failure(managedIdentity()()))),
      transient: true,
    });
  }
  rows.push({
    name: `managed identity (${style}): unknown user-assigned client id`,
    run: () =>
      inEnv(() => failure(managedIdentity({ clientId: '00000000-0000-4000-8000-000000000002' })())),
    transient: false,
  });
}

describe(`classifyError on what ${msalLine()} raises`, () => {
  const seen: string[] = [];
  afterAll(() => {
    console.log(`[classify-real-errors] ${msalLine()}\n${seen.join('\n')}`);
  });

  for (const row of rows) {
    it(
      row.name,
      async () => {
        const { error, ms } = await row.run();
        const c = classifyError(error);
        seen.push(
          `${row.name} (${ms} ms): ${describeError(error)} => ${c.transient ? 'transient' : 'permanent'} (${c.reason}; status ${c.statusCode ?? 'none'})`,
        );
        expect(c.transient, `${describeError(error)} => ${c.reason}`).toBe(row.transient);
        const wrapped = toRequestError(error, Date.now(), 60_000);
        expect(wrapped.isRetryable).toBe(row.transient);
        expect(['TOKEN_REQUEST_FAILED', 'CREDENTIAL_UNAVAILABLE']).toContain(wrapped.code);
      },
      60_000,
    );
  }
});
