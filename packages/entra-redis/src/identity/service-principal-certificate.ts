import { readFileSync } from 'node:fs';
import {
  ClientCertificateCredential,
  type ClientCertificateCredentialOptions,
} from '@azure/identity';
import { EntraRedisError } from '../errors.js';
import { OptionValidator } from '../lib/validate.js';
import type { TokenCredentialFactory } from '../token/options.js';
import { checkAuthority, checkReadable } from './common.js';

interface CertificateIdentity {
  /** Directory (tenant) id: a GUID or a tenant domain name. */
  readonly tenantId: string;
  /** Application (client) id, a GUID. */
  readonly clientId: string;
  /** Password of an encrypted private key. */
  readonly certificatePassword?: string;
}

/**
 * A service principal with a certificate: a PEM file holding the certificate and its private
 * key, by path (re-read by each fresh credential, so a rotated file is picked up) or inline.
 *
 * @example
 * ```ts
 * const byPath: ServicePrincipalCertificateOptions = { tenantId, clientId, certificatePath: '/etc/app/cert.pem' };
 * ```
 */
export type ServicePrincipalCertificateOptions =
  | (CertificateIdentity & { readonly certificatePath: string; readonly certificatePem?: never })
  | (CertificateIdentity & { readonly certificatePem: string; readonly certificatePath?: never });

const COMPONENT = 'entra-redis servicePrincipalCertificate';

function checkPem(pem: string, source: string, hasPassword: boolean): void {
  const problem = !/-----BEGIN CERTIFICATE-----/.test(pem)
    ? 'has no "-----BEGIN CERTIFICATE-----" block'
    : !/-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(pem)
      ? 'has no private key block (the PEM must hold the certificate and its private key)'
      : /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem) && !hasPassword
        ? 'holds an encrypted private key but no "certificatePassword" was given'
        : undefined;
  if (problem) {
    throw new EntraRedisError('INVALID_OPTION', `${COMPONENT}: ${source} ${problem}`);
  }
}

/**
 * Service principal with a certificate, over @azure/identity's `ClientCertificateCredential`.
 * Exactly one of `certificatePath` (checked readable now) and `certificatePem` is required.
 * `credentialOptions` (e.g. `{ sendCertificateChain: true }` for subject-name/issuer
 * authentication, `authorityHost`, `disableInstanceDiscovery`) are passed through. Returns a
 * factory (see {@link servicePrincipalSecret} for why).
 *
 * @example
 * ```ts
 * const credential = servicePrincipalCertificate(
 *   { tenantId, clientId, certificatePath: '/var/run/secrets/app.pem' },
 *   { sendCertificateChain: true },
 * );
 * ```
 */
export function servicePrincipalCertificate(
  options: ServicePrincipalCertificateOptions,
  credentialOptions: ClientCertificateCredentialOptions = {},
): TokenCredentialFactory {
  const v = new OptionValidator(COMPONENT);
  const o = v.object('options', options);
  v.knownKeys('', o, [
    'tenantId',
    'clientId',
    'certificatePath',
    'certificatePem',
    'certificatePassword',
  ]);
  const tenantId = v.tenant('tenantId', o.tenantId);
  const clientId = v.guid('clientId', o.clientId, "the application's client id");
  const password =
    o.certificatePassword === undefined
      ? undefined
      : v.nonEmptyString('certificatePassword', o.certificatePassword);
  const hasPath = o.certificatePath !== undefined;
  const hasPem = o.certificatePem !== undefined;
  if (hasPath === hasPem) {
    throw new EntraRedisError(
      'INVALID_OPTION',
      `${COMPONENT}: give exactly one of "certificatePath" and "certificatePem"; got ${hasPath ? 'both' : 'neither'}`,
    );
  }
  const co = v.object('credentialOptions', credentialOptions);
  checkAuthority(v, co);
  if (co.sendCertificateChain !== undefined)
    v.boolean('sendCertificateChain', co.sendCertificateChain);
  const pw = password === undefined ? {} : { certificatePassword: password };
  if (hasPath) {
    const path = v.nonEmptyString('certificatePath', o.certificatePath, 'a path to a PEM file');
    checkReadable(COMPONENT, 'certificatePath', path);
    checkPem(
      readFileSync(path, 'utf8'),
      `the file of "certificatePath" (${path})`,
      password !== undefined,
    );
    return () =>
      new ClientCertificateCredential(tenantId, clientId, { certificatePath: path, ...pw }, co);
  }
  const pem = v.nonEmptyString(
    'certificatePem',
    o.certificatePem,
    'a PEM string with the certificate and its private key',
  );
  checkPem(pem, '"certificatePem"', password !== undefined);
  return () => new ClientCertificateCredential(tenantId, clientId, { certificate: pem, ...pw }, co);
}
