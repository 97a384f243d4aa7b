import { rootCertificates as tlsRoots } from 'node:tls';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** The subset of an `@azure/core-rest-pipeline` request this policy touches. */
export interface PipelineRequestLike {
  url: string;
  tlsSettings?: object;
}

/** An `additionalPolicies` entry for `@azure/identity` credential options (structural type). */
export interface TrustPolicyEntry {
  policy: {
    name: string;
    sendRequest<Req extends PipelineRequestLike, Res>(
      request: Req,
      next: (request: Req) => Promise<Res>,
    ): Promise<Res>;
  };
  position: 'perCall';
}

/**
 * Options that make an `@azure/identity` credential trust the emulator's CA in this process
 * (`NODE_EXTRA_CA_CERTS` is read only at process start). Spread them into the credential's
 * options. The CA is added for HTTPS requests only; the public CAs are kept.
 * `ManagedIdentityCredential` ignores `additionalPolicies`, which is why the emulator serves
 * managed identity over plain HTTP, as Azure hosts do.
 *
 * @example
 * ```ts
 * const credential = new ClientSecretCredential(tenantId, clientId, secret, {
 *   authorityHost: idp.authorityHost,
 *   disableInstanceDiscovery: true,
 *   ...trustEmulatorCa(pki.caCertPem),
 * });
 * ```
 */
export function trustEmulatorCa(caCertPem: string): { additionalPolicies: TrustPolicyEntry[] } {
  // One settings object per CA: the pipeline's HTTP client caches one agent per settings object.
  const tlsSettings = { ca: [caCertPem, ...rootCertificates()] };
  return {
    additionalPolicies: [
      {
        position: 'perCall',
        policy: {
          name: 'entraRedisEmulatorCa',
          sendRequest(request, next) {
            if (request.url.startsWith('https:') && !request.tlsSettings) {
              request.tlsSettings = tlsSettings;
            }
            return next(request);
          },
        },
      },
    ],
  };
}

let roots: string[] | undefined;
function rootCertificates(): string[] {
  roots ??= [...tlsRoots];
  return roots;
}

/** msal-node's `INetworkModule` shape (structural, so the emulator needs no msal dependency). */
export interface MsalNetworkClient {
  sendGetRequestAsync<T>(
    url: string,
    options?: { headers?: Record<string, string>; body?: string },
    timeoutMs?: number,
  ): Promise<{ headers: Record<string, string>; body: T; status: number }>;
  sendPostRequestAsync<T>(
    url: string,
    options?: { headers?: Record<string, string>; body?: string },
  ): Promise<{ headers: Record<string, string>; body: T; status: number }>;
}

/**
 * A network client for msal-node (`system.networkClient`) that trusts the emulator's CA,
 * for msal-node applications used directly (e.g. `PublicClientApplication`).
 *
 * @example
 * ```ts
 * const pca = new PublicClientApplication({
 *   auth: { clientId, authority: `${idp.authorityHost}/${tenantId}`, knownAuthorities: [new URL(idp.authorityHost).host] },
 *   system: { networkClient: msalNetworkClient(pki.caCertPem) },
 * });
 * ```
 */
export function msalNetworkClient(caCertPem: string, defaultTimeoutMs = 10_000): MsalNetworkClient {
  const ca = [caCertPem, ...rootCertificates()];
  const send = <T>(
    method: string,
    url: string,
    options: { headers?: Record<string, string>; body?: string } = {},
    timeoutMs = defaultTimeoutMs,
  ) =>
    new Promise<{ headers: Record<string, string>; body: T; status: number }>((resolve, reject) => {
      const target = new URL(url);
      const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, {
        method,
        headers: options.headers,
        agent: false,
        ...(target.protocol === 'https:' ? { ca } : {}),
      });
      req.setTimeout(timeoutMs, () =>
        req.destroy(new Error(`no answer from ${target.origin} within ${timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: hand msal the text
          }
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) headers[k] = String(v);
          resolve({ headers, body: body as T, status: res.statusCode ?? 0 });
        });
      });
      req.end(options.body);
    });
  return {
    sendGetRequestAsync: (url, options, timeoutMs) => send('GET', url, options, timeoutMs),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}
