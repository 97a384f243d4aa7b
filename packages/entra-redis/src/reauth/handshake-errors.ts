import { EntraRedisError } from '../errors.js';

/** Node.js codes of a TLS certificate the client did not accept. */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** How many closes in a row, before a connection was ever ready, make a diagnosis. */
export const HANDSHAKE_CLOSES_BEFORE_DIAGNOSIS = 3;

/** A connection failure seen before the handshake completed, and what it tells. */
export interface HandshakeFailure {
  /**
   * 'certificate' and 'not-tls' cannot heal by retrying; 'closed' (the server closed the
   * connection during the handshake) can be a restart, so it counts only when repeated.
   */
  readonly kind: 'certificate' | 'not-tls' | 'closed';
  /** The diagnosis, with the failure as `cause`. */
  readonly error: EntraRedisError;
}

const codeOf = (error: unknown): string =>
  String((error as { code?: unknown } | null | undefined)?.code ?? '');
const messageOf = (error: unknown): string =>
  String((error as { message?: unknown } | null | undefined)?.message ?? '');
const nameOf = (error: unknown): string =>
  String(
    (error as { name?: unknown; constructor?: { name?: unknown } } | null | undefined)?.constructor
      ?.name ?? '',
  );

/**
 * Tells what a connection error raised before the handshake completed means, or `undefined`
 * for errors that say nothing about the configuration (a refused TCP connection, DNS, a
 * timeout: the cache may be down or still starting). `closes` is how many times in a row the
 * server has closed the connection during the handshake, this one included.
 *
 * @example
 * ```ts
 * diagnoseHandshakeFailure(Object.assign(new Error('unable to verify the first certificate'),
 *   { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }), 1)?.kind; // 'certificate'
 * ```
 */
export function diagnoseHandshakeFailure(error: unknown, closes = 1): HandshakeFailure | undefined {
  const code = codeOf(error);
  const message = messageOf(error);
  if (CERTIFICATE_CODES.has(code)) {
    return {
      kind: 'certificate',
      error: new EntraRedisError(
        'HANDSHAKE_FAILED',
        `entra-redis: the cache's TLS certificate was not accepted (${code}: ${message}). ` +
          `Azure's caches present certificates of public CAs that Node.js trusts: check the ` +
          `host name (the TLS servername must be the cache's host name, also for cluster ` +
          `nodes addressed by IP). For a local emulator or a proxy, give its CA as the ` +
          `client's TLS "ca" option or in NODE_EXTRA_CA_CERTS.`,
        { cause: error },
      ),
    };
  }
  if (/wrong version number|packet length too long|unknown protocol/i.test(message)) {
    return {
      kind: 'not-tls',
      error: new EntraRedisError(
        'HANDSHAKE_FAILED',
        `entra-redis: the TLS handshake failed because the server does not speak TLS on this ` +
          `port (${code || message}). Azure's caches speak TLS on 6380 (Azure Cache for ` +
          `Redis) and 10000 (Azure Managed Redis): check the port, or turn TLS off for a ` +
          `plaintext local server.`,
        { cause: error },
      ),
    };
  }
  const closed =
    /^(ECONNRESET|EPIPE)$/.test(code) ||
    nameOf(error) === 'SocketClosedUnexpectedlyError' ||
    /socket closed unexpectedly|connection is closed|socket hang up/i.test(message);
  if (!closed) return undefined;
  return {
    kind: 'closed',
    error: new EntraRedisError(
      'HANDSHAKE_FAILED',
      `entra-redis: the server closed the connection during the handshake, ${closes} ` +
        `time${closes === 1 ? '' : 's'} in a row: do the TLS settings match the port (TLS ` +
        `expected?)? Azure's caches accept only TLS connections (ports 6380 and 10000): set ` +
        `the client's TLS option (node-redis "socket.tls: true", ioredis "tls: {}"); for a ` +
        `cluster, in the options every node gets (node-redis "defaults", ioredis ` +
        `"redisOptions"). A plaintext local server needs TLS off.`,
      { isRetryable: true, cause: error },
    ),
  };
}
