// Public exports of @entra-redis/emulator, listed by hand.
export { EmulatorError, type EmulatorErrorCode } from './errors.js';
export { startEmulator, DEFAULT_STATE_DIR } from './emulator.js';
export type { Emulator, EmulatorOptions, EmulatorPrincipal, EmulatorStats } from './emulator.js';
export { Tenant, REDIS_AUDIENCES } from './tenant.js';
export type { AccessCheck, MintOptions, MintedToken, TenantOptions } from './tenant.js';
export { defaultTenantConfig, DEFAULT_IDS, userAssignedResourceId } from './principals.js';
export type {
  AccessPolicyName,
  Principal,
  ServicePrincipal,
  SystemAssignedIdentity,
  TenantConfig,
  User,
  UserAssignedIdentity,
} from './principals.js';
export { createPki, issueClientCertificate } from './pki.js';
export type { ClientCertificate, Pki, PkiOptions } from './pki.js';
export {
  completeInteractiveSignIn,
  msalNetworkClient,
  startIdentityProvider,
  trustEmulatorCa,
} from './identity-provider/index.js';
export type {
  BrowserOptions,
  Fault,
  FaultHandle,
  IdentityProvider,
  IdentityProviderOptions,
  IdentityProviderStats,
  SignInResult,
} from './identity-provider/index.js';
export {
  AZURE_BLOCKED_COMMANDS,
  BUILTIN_ACCESS_POLICIES,
  startRedisFront,
} from './redis-front/index.js';
export type {
  Authenticator,
  RedisFront,
  RedisFrontConnectionEvent,
  RedisFrontOptions,
  RedisFrontStats,
} from './redis-front/index.js';
export { findRedisServer, startRedisServer } from './redis-server.js';
export type { RedisServer, RedisServerOptions } from './redis-server.js';
