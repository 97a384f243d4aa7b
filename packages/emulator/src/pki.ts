import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { EmulatorError } from './errors.js';

/** The emulator's certificate authority and the TLS server certificate it signed. */
export interface Pki {
  /** Directory holding `ca.pem`, `ca-key.pem`, `server-cert.pem` and `server-key.pem`. */
  readonly stateDir: string;
  /** Path of the CA certificate (the value for `NODE_EXTRA_CA_CERTS`). */
  readonly caCertPath: string;
  /** The CA certificate, PEM. Pass it as `ca` to TLS clients. */
  readonly caCertPem: string;
  /** The server certificate (SANs 127.0.0.1, ::1, localhost and extra hostnames), PEM. */
  readonly serverCertPem: string;
  /** The server certificate's private key, PEM (PKCS#8). */
  readonly serverKeyPem: string;
}

/** Options of {@link createPki}. */
export interface PkiOptions {
  /** Directory where the PEM files are kept and reused across runs; created if missing. */
  stateDir: string;
  /** Extra DNS names or IP addresses for the server certificate. @default [] */
  hostnames?: string[];
}

/** A client certificate issued by the emulator's CA. */
export interface ClientCertificate {
  /** Certificate, PEM. */
  certPem: string;
  /** Private key, PEM (PKCS#8). */
  keyPem: string;
  /** File holding the certificate followed by its key (what `AZURE_CLIENT_CERTIFICATE_PATH` expects). */
  combinedPemPath: string;
  /** SHA-1 thumbprint, upper-case hex (Entra's `x5t`). */
  thumbprintSha1: string;
  /** SHA-256 thumbprint, upper-case hex (Entra's `x5t#S256`). */
  thumbprintSha256: string;
}

const BASE_NAMES = ['127.0.0.1', '::1', 'localhost'];
const MIN_REMAINING_MS = 24 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;
const RSA_ALG = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const caKeyPaths = new WeakMap<Pki, string>();

/**
 * Creates, or reuses from `stateDir`, a CA and a loopback TLS server certificate signed by it.
 * Existing files are reused while they are valid for at least a day and cover the hostnames,
 * so a CA a user already trusts stays trusted. Key files are written with mode 0600.
 *
 * @example
 * ```ts
 * const pki = await createPki({ stateDir: '.entra-redis-emulator' });
 * https.createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem });
 * ```
 */
export async function createPki(options: PkiOptions): Promise<Pki> {
  if (typeof options?.stateDir !== 'string' || options.stateDir === '') {
    throw new EmulatorError('INVALID_OPTION', '"stateDir" must be a non-empty path.');
  }
  const names = [...new Set([...BASE_NAMES, ...(options.hostnames ?? [])])];
  const dir = options.stateDir;
  const paths = {
    ca: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca-key.pem'),
    cert: join(dir, 'server-cert.pem'),
    key: join(dir, 'server-key.pem'),
  };
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    let ca = await loadPair(paths.ca, paths.caKey);
    if (!ca || !isUsable(ca.cert) || !ca.cert.ca) ca = undefined;
    if (!ca) {
      ca = await generateCa();
      await writePair(paths.ca, paths.caKey, ca.certPem, ca.keyPem);
    }
    let server = await loadPair(paths.cert, paths.key);
    if (
      !server ||
      !isUsable(server.cert) ||
      !issuedBy(server.cert, ca.cert) ||
      !covers(server.cert, names)
    ) {
      server = await issue(ca, 'entra-redis-emulator', names, true);
      await writePair(paths.cert, paths.key, server.certPem, server.keyPem);
    }
    const pki: Pki = {
      stateDir: dir,
      caCertPath: paths.ca,
      caCertPem: ca.certPem,
      serverCertPem: server.certPem,
      serverKeyPem: server.keyPem,
    };
    caKeyPaths.set(pki, paths.caKey);
    return pki;
  } catch (err) {
    if (err instanceof EmulatorError) throw err;
    throw new EmulatorError(
      'PKI_FAILED',
      `Could not create or read the emulator's certificates in ${dir}: ${(err as Error).message}. Check that the directory is writable, or delete it to start afresh.`,
      { cause: err },
    );
  }
}

/**
 * Issues a client certificate signed by the emulator's CA (for the service principal certificate
 * flow) and writes `client-<name>.pem` (certificate + key) into `dir` (default: the PKI's state
 * directory).
 *
 * @example
 * ```ts
 * const cert = await issueClientCertificate(pki, 'my-app');
 * process.env.AZURE_CLIENT_CERTIFICATE_PATH = cert.combinedPemPath;
 * ```
 */
export async function issueClientCertificate(
  pki: Pki,
  commonName: string,
  dir: string = pki.stateDir,
): Promise<ClientCertificate> {
  const caKeyPath = caKeyPaths.get(pki) ?? join(pki.stateDir, 'ca-key.pem');
  const caKeyPem = await readFile(caKeyPath, 'utf8');
  const ca = { cert: new X509Certificate(pki.caCertPem), certPem: pki.caCertPem, keyPem: caKeyPem };
  const issued = await issue(ca, commonName, [], false);
  const safeName = commonName.replace(/[^A-Za-z0-9._-]/g, '_');
  const combinedPemPath = join(dir, `client-${safeName}.pem`);
  await writeFile(combinedPemPath, `${issued.certPem}${issued.keyPem}`, { mode: 0o600 });
  await chmod(combinedPemPath, 0o600);
  return {
    certPem: issued.certPem,
    keyPem: issued.keyPem,
    combinedPemPath,
    ...thumbprints(issued.certPem),
  };
}

/**
 * SHA-1 and SHA-256 thumbprints (upper-case hex) of a PEM certificate.
 *
 * @example
 * ```ts
 * const { thumbprintSha256 } = thumbprints(certPem);
 * ```
 */
export function thumbprints(certPem: string): { thumbprintSha1: string; thumbprintSha256: string } {
  const cert = new X509Certificate(certPem);
  return {
    thumbprintSha1: cert.fingerprint.replace(/:/g, ''),
    thumbprintSha256: cert.fingerprint256.replace(/:/g, ''),
  };
}

interface Pair {
  cert: X509Certificate;
  certPem: string;
  keyPem: string;
}

async function loadPair(certPath: string, keyPath: string): Promise<Pair | undefined> {
  try {
    const [certPem, keyPem] = await Promise.all([
      readFile(certPath, 'utf8'),
      readFile(keyPath, 'utf8'),
    ]);
    const cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return undefined;
    return { cert, certPem, keyPem };
  } catch {
    return undefined;
  }
}

async function writePair(certPath: string, keyPath: string, certPem: string, keyPem: string) {
  await writeFile(keyPath, keyPem, { mode: 0o600 });
  await chmod(keyPath, 0o600);
  await writeFile(certPath, certPem, { mode: 0o644 });
}

function isUsable(cert: X509Certificate): boolean {
  const now = Date.now();
  return Date.parse(cert.validFrom) <= now && Date.parse(cert.validTo) - now > MIN_REMAINING_MS;
}

function issuedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

function covers(cert: X509Certificate, names: string[]): boolean {
  return names.every((name) =>
    isIP(name) ? cert.checkIP(name) !== undefined : cert.checkHost(name) !== undefined,
  );
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(RSA_ALG, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
}

async function toPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN PRIVATE KEY-----\n${b64.replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

async function generateCa(): Promise<Pair> {
  const keys = await generateKeys();
  const notBefore = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=entra-redis emulator CA ${notBefore.toISOString().slice(0, 10)}`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 3650 * DAY_MS),
    keys,
    signingAlgorithm: RSA_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign |
          x509.KeyUsageFlags.cRLSign |
          x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString('pem') + '\n';
  return { cert: new X509Certificate(certPem), certPem, keyPem: await toPem(keys.privateKey) };
}

async function issue(
  ca: Pair,
  commonName: string,
  names: string[],
  server: boolean,
): Promise<Pair> {
  const keys = await generateKeys();
  const caKey = await webcrypto.subtle.importKey(
    'pkcs8',
    createPrivateKey(ca.keyPem).export({ format: 'der', type: 'pkcs8' }),
    RSA_ALG,
    false,
    ['sign'],
  );
  const caCert = new x509.X509Certificate(ca.certPem);
  const notBefore = new Date(Date.now() - 60_000);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension([
      server ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
    ]),
    await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
  ];
  if (names.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        names.map((value) => ({ type: isIP(value) ? 'ip' : 'dns', value })),
      ),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${commonName.replace(/[,=+<>#;"\\]/g, '_')}`,
    issuer: caCert.subjectName,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (server ? 825 : 365) * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: RSA_ALG,
    extensions,
  });
  const certPem = cert.toString('pem') + '\n';
  return { cert: new X509Certificate(certPem), certPem, keyPem: await toPem(keys.privateKey) };
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}
