// Client-agnostic re-authentication rules shared by the node-redis and ioredis adapters.
// Internal to the package (not a public subpath); adapters import from here.

export {
  BLOCKING_COMMANDS,
  formatTimeout,
  lastGeneratedIdOf,
  mayBlock,
  parseBlockingCall,
  planBlockingSlice,
  replaceDollarIds,
  type BlockingCall,
  type BlockingCommandSpec,
  type BlockingSliceInput,
  type BlockingSlicePlan,
  type CommandArg,
} from './blocking.js';
export { TransactionTracker, type TransactionListener } from './transaction.js';
export {
  AZURE_NON_TLS_PORT,
  AZURE_REDIS_HOST_SUFFIXES,
  checkTransportSecurity,
  isAzureRedisHost,
  type TransportSecurityInput,
} from './azure-hosts.js';
export {
  blockingInterruptedError,
  diagnoseServerError,
  dropCommandArgs,
  inFlightExpiredError,
  tokenExpiredError,
  type AuthContext,
} from './server-errors.js';
export { RECONNECT_BACKOFF, reconnectDelayMs } from './reconnect.js';
export {
  HANDSHAKE_CLOSES_BEFORE_DIAGNOSIS,
  diagnoseHandshakeFailure,
  type HandshakeFailure,
} from './handshake-errors.js';
