// Common AADSTS codes of the Microsoft identity platform, what they usually mean and the fix.

/** Meaning and fix of one AADSTS code. */
export interface AadstsHint {
  readonly meaning: string;
  readonly fix: string;
}

const SECRET = 'check --secret-env: it must hold the secret VALUE (not its id)';

/** Known codes (a selection of the ones a Redis client meets). */
export const AADSTS_HINTS: Readonly<Record<string, AadstsHint>> = Object.freeze({
  '7000215': {
    meaning: 'invalid client secret',
    fix: `${SECRET}, of a secret that exists on the app registration (Certificates & secrets)`,
  },
  '7000222': {
    meaning: 'the client secret has expired',
    fix: 'create a new client secret on the app registration and use its value',
  },
  '700016': {
    meaning: 'application not found in the directory (wrong client id, or wrong tenant)',
    fix: 'check --client-id (the Application (client) id) and --tenant-id (the tenant where the app is registered)',
  },
  '700027': {
    meaning: 'the client assertion (certificate) failed validation',
    fix: 'upload this certificate (its public part) to the app registration, or use the certificate registered there; check that it has not expired',
  },
  '700024': {
    meaning: 'the client assertion is outside its valid time range',
    fix: "synchronise this machine's clock (NTP)",
  },
  '50034': {
    meaning: 'the user account does not exist in this directory',
    fix: 'sign in with an account of the tenant, or pass the right --tenant-id',
  },
  '50126': {
    meaning: 'invalid user name or password',
    fix: 'sign in again with the right credentials',
  },
  '90002': {
    meaning: 'tenant not found',
    fix: 'check --tenant-id (the Directory (tenant) id) and --authority-host (the cloud)',
  },
  '900023': {
    meaning: 'the tenant id is not valid',
    fix: 'check --tenant-id (a GUID or a domain such as contoso.onmicrosoft.com)',
  },
  '500011': {
    meaning: 'the resource (scope) was not found in the tenant',
    fix: 'use --scope https://redis.azure.com/.default',
  },
  '1002012': {
    meaning: 'the scope is not valid for client credentials (needs /.default)',
    fix: 'use --scope https://redis.azure.com/.default',
  },
  '70011': {
    meaning: 'the scope is not valid',
    fix: 'use --scope https://redis.azure.com/.default',
  },
  '65001': {
    meaning: 'consent has not been granted',
    fix: 'have an administrator grant consent to the app for Azure Cache for Redis',
  },
  '53003': {
    meaning: 'blocked by a Conditional Access policy',
    fix: 'ask the tenant administrator which policy applies to this sign-in',
  },
  '50076': {
    meaning: 'multi-factor authentication is required',
    fix: 'use --auth interactive (or a service principal / managed identity)',
  },
  '7000112': {
    meaning: 'the application is disabled',
    fix: 'enable the app registration / service principal in the tenant',
  },
  '50196': {
    meaning: 'too many requests (loop detected); throttled',
    fix: 'wait a minute and retry; cache tokens instead of requesting them in a loop',
  },
});

/** The meaning and fix of `code` (digits only), or a generic pointer. */
export function aadstsHint(code: string): AadstsHint {
  return (
    AADSTS_HINTS[code] ?? {
      meaning: 'an error of the Microsoft identity platform',
      fix: `look the code up at https://login.microsoftonline.com/error?code=${code}`,
    }
  );
}
