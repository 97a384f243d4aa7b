// The identity provider's public pieces, listed by hand (the package index picks from here).
export { startIdentityProvider } from './server.js';
export type { IdentityProvider, IdentityProviderOptions } from './server.js';
export { Faults } from './faults.js';
export type { Fault, FaultHandle } from './faults.js';
export { completeInteractiveSignIn } from './browser.js';
export type { BrowserOptions, SignInResult } from './browser.js';
export { trustEmulatorCa, msalNetworkClient } from './trust.js';
export type { TrustPolicyEntry, MsalNetworkClient, PipelineRequestLike } from './trust.js';
export type { IdentityProviderStats } from './state.js';
