// Public surface of the RESP front end, listed by hand.
export { startRedisFront } from './front.js';
export { AZURE_BLOCKED_COMMANDS, BUILTIN_ACCESS_POLICIES } from './policies.js';
export type {
  AccessCheck,
  Authenticator,
  RedisFront,
  RedisFrontAuthEvent,
  RedisFrontEventMap,
  RedisFrontConnectionEvent,
  RedisFrontOptions,
  RedisFrontStats,
} from './types.js';
