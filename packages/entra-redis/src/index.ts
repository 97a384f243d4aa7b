// Public exports of the core, listed by hand (no `export *`). Internals live in ./lib.

export {
  ENTRA_REDIS_ERROR_CODES,
  EntraRedisError,
  isEntraRedisError,
  type EntraRedisErrorCode,
  type EntraRedisErrorOptions,
} from './errors.js';

export {
  decodeAccessTokenClaims,
  type AccessTokenClaims,
  type DecodeAccessTokenOptions,
} from './lib/jwt.js';
export type { TimerHandle, TokenSourceClock } from './lib/clock.js';
export { METRIC_NAMES } from './lib/otel.js';

export { TokenSource, createTokenSource } from './token/token-source.js';
export {
  TOKEN_SOURCE_DEFAULTS,
  type TokenCredentialFactory,
  type TokenSourceLogger,
  type TokenSourceOptions,
  type TokenSourceRetryOptions,
} from './token/options.js';
export type { RedisCredentials } from './token/credentials.js';
export type {
  TokenExpiredEvent,
  TokenRecoveredEvent,
  TokenRefreshFailedEvent,
  TokenRefreshedEvent,
  TokenSourceEvents,
} from './token/events.js';

export type { EntraAuthorityOptions } from './identity/common.js';
export {
  defaultAzureCredential,
  type DefaultCredentialOptions,
} from './identity/default-azure-credential.js';
export { managedIdentity, type ManagedIdentityOptions } from './identity/managed-identity.js';
export {
  servicePrincipalSecret,
  type ServicePrincipalSecretOptions,
} from './identity/service-principal-secret.js';
export {
  servicePrincipalCertificate,
  type ServicePrincipalCertificateOptions,
} from './identity/service-principal-certificate.js';
export { workloadIdentity, type WorkloadIdentityOptions } from './identity/workload-identity.js';
export { interactiveUser, type InteractiveUserOptions } from './identity/interactive-user.js';
