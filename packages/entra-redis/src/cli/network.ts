// DNS, TCP and TLS steps of `check`, each with its own timeout. Certificate verification is
// always on.

import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { usageError } from './auth-options.js';
import { RespConnection } from './resp.js';

function timeoutError(what: string, ms: number): Error {
  return Object.assign(new Error(`${what}: no answer within ${ms} ms`), { code: 'ETIMEDOUT' });
}

/** Resolves `host` to its addresses (an IP literal resolves to itself). */
export async function resolveHost(host: string, timeoutMs: number): Promise<string[]> {
  if (net.isIP(host)) return [host];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError(`DNS lookup of ${host}`, timeoutMs)), timeoutMs);
    timer.unref();
  });
  try {
    const answers = await Promise.race([lookup(host, { all: true }), timeout]);
    return answers.map((a) => a.address);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens a TCP connection; rejects with the socket error (`ECONNREFUSED`, `ETIMEDOUT`, …). */
export function connectTcp(address: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(timeoutError(`TCP connect to ${address}:${port}`, timeoutMs));
    }, timeoutMs);
    timer.unref();
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}

/**
 * The trusted CAs for the Redis connection: Node's defaults, NODE_EXTRA_CA_CERTS, and `--ca`.
 * `undefined` (Node's defaults) without `--ca`. Throws `INVALID_OPTION` for an unusable file.
 */
export function loadCa(path: string | undefined): string[] | undefined {
  if (path === undefined) return undefined;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw usageError(
      `--ca ${path}: the file cannot be read (${typeof code === 'string' ? code : 'error'}); ` +
        'give the path of a PEM file holding the CA certificate',
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw usageError(`--ca ${path}: no "-----BEGIN CERTIFICATE-----" block; give a PEM CA file`);
  }
  const extra: string[] = [];
  const extraPath = process.env.NODE_EXTRA_CA_CERTS;
  if (extraPath) {
    try {
      extra.push(readFileSync(extraPath, 'utf8'));
    } catch {
      // Node already warned about an unreadable NODE_EXTRA_CA_CERTS at startup.
    }
  }
  return [...tls.rootCertificates, ...extra, pem];
}

/** Completes a TLS handshake over `socket`, verifying the certificate for `host`. */
export function handshakeTls(
  socket: net.Socket,
  host: string,
  ca: string[] | undefined,
  timeoutMs: number,
): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tls.connect({
      socket,
      host,
      ...(net.isIP(host) ? {} : { servername: host }),
      ...(ca ? { ca } : {}),
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    });
    const timer = setTimeout(() => {
      secure.destroy();
      reject(timeoutError('TLS handshake', timeoutMs));
    }, timeoutMs);
    timer.unref();
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      secure.removeAllListeners('error');
      resolve(secure);
    });
    secure.once('error', (error) => {
      clearTimeout(timer);
      secure.destroy();
      reject(error);
    });
  });
}

/** `TLSv1.3, certificate CN=… issued by CN=…, valid until …`. */
export function describeTls(socket: tls.TLSSocket): string {
  const cert = socket.getPeerCertificate();
  const cn = (name: unknown) => {
    const value = (name as { CN?: unknown } | undefined)?.CN;
    return typeof value === 'string' ? value : Array.isArray(value) ? String(value[0]) : '?';
  };
  const until = cert.valid_to ? new Date(cert.valid_to).toISOString().slice(0, 10) : '?';
  return `${socket.getProtocol() ?? 'TLS'}, certificate CN=${cn(cert.subject)} issued by CN=${cn(cert.issuer)}, valid until ${until}`;
}

/** Whether the port answers a plaintext PING like Redis does (a diagnosis aid, no secrets sent). */
export async function answersPlaintextRedis(
  address: string,
  port: number,
  timeoutMs: number,
): Promise<boolean> {
  let socket: net.Socket | undefined;
  try {
    socket = await connectTcp(address, port, timeoutMs);
    const reply = await new RespConnection(socket).send(['PING'], timeoutMs);
    return reply.kind === 'simple' || reply.kind === 'error';
  } catch {
    return false;
  } finally {
    socket?.destroy();
  }
}

/** Opens a TLS connection to an https URL's host with Node's default trust: 'ok' or the error code. */
export async function probeTls(url: string, timeoutMs: number): Promise<string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'ERR_INVALID_URL';
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const port = Number(parsed.port || 443);
  let socket: net.Socket | undefined;
  try {
    socket = await connectTcp(host, port, timeoutMs);
    const secure = await handshakeTls(socket, host, undefined, timeoutMs);
    secure.destroy();
    return 'ok';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : 'ERROR';
  } finally {
    socket?.destroy();
  }
}
