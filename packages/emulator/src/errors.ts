/** Stable codes of {@link EmulatorError}: switch on these, never on messages. */
export type EmulatorErrorCode =
  | 'INVALID_OPTION'
  | 'NOT_LOOPBACK'
  | 'PKI_FAILED'
  | 'UNKNOWN_PRINCIPAL'
  | 'SIGN_IN_FAILED'
  | 'CLOSED'
  | 'REDIS_SERVER_NOT_FOUND'
  | 'REDIS_SERVER_START_FAILED'
  | 'REDIS_SERVER_STOPPED'
  | 'REDIS_ADMIN_FAILED';

/**
 * The one error class of the emulator: identity provider, PKI, tenant, redis-server child and
 * RESP front end. Messages say what is wrong and what to do; they never contain a token,
 * secret, password or key.
 *
 * @example
 * ```ts
 * try {
 *   await startEmulator();
 * } catch (error) {
 *   if ((error as EmulatorError).code === 'REDIS_SERVER_NOT_FOUND') process.exitCode = 2;
 * }
 * ```
 */
export class EmulatorError extends Error {
  override readonly name = 'EmulatorError';
  /** A stable code to switch on. */
  readonly code: EmulatorErrorCode;

  constructor(code: EmulatorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
