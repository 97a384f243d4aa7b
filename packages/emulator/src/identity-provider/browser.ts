import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { EmulatorError } from '../errors.js';

/** Options of {@link completeInteractiveSignIn}. */
export interface BrowserOptions {
  /** CA certificate(s), PEM, trusted for the authority (the emulator's `pki.caCertPem`). */
  ca?: string | string[];
  /** Deliver the result to the redirect URI (GET for query mode, POST for form_post). @default true */
  deliver?: boolean;
  /** Timeout of each request, milliseconds. @default 10000 */
  timeoutMs?: number;
}

/** What the scripted browser saw. */
export interface SignInResult {
  /** The redirect URI the authority answered to. */
  redirectUri: string;
  /** Fields delivered to the redirect URI: `code`, `state`, `client_info`, or `error`, `error_description`. */
  params: Record<string, string>;
  /** The redirect URI's answer, when delivered. */
  delivered?: { status: number; body: string };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A scripted stand-in for a browser in interactive sign-in tests: it opens the authorize URL
 * (the emulator signs the user in without UI), then delivers the answer to the redirect URI
 * the way a browser would: follows a query or fragment redirect, or submits the form_post form.
 *
 * @example
 * ```ts
 * const url = await pca.getAuthCodeUrl({ scopes, redirectUri, codeChallenge, codeChallengeMethod: 'S256' });
 * const { params } = await completeInteractiveSignIn(url, { ca: pki.caCertPem, deliver: false });
 * await pca.acquireTokenByCode({ code: params.code!, scopes, redirectUri, codeVerifier });
 * ```
 */
export async function completeInteractiveSignIn(
  authorizeUrl: string,
  options: BrowserOptions = {},
): Promise<SignInResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const first = await send(new URL(authorizeUrl), 'GET', undefined, options.ca, timeoutMs);
  let redirectUri: string;
  let params: Record<string, string>;
  let method: 'GET' | 'POST';
  if (first.status >= 300 && first.status < 400 && typeof first.headers.location === 'string') {
    const target = new URL(first.headers.location, authorizeUrl);
    params = Object.fromEntries([
      ...target.searchParams,
      ...new URLSearchParams(target.hash.replace(/^#/, '')),
    ]);
    redirectUri = `${target.origin}${target.pathname}`;
    method = 'GET';
    target.hash = '';
    if (options.deliver === false) return { redirectUri, params };
    const delivered = await send(target, 'GET', undefined, options.ca, timeoutMs);
    return { redirectUri, params, delivered: { status: delivered.status, body: delivered.body } };
  }
  const action = /<form[^>]*\baction="([^"]*)"/i.exec(first.body)?.[1];
  if (first.status !== 200 || action === undefined) {
    const text = first.body
      .replace(/<[^>]*>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 300);
    throw new EmulatorError(
      'SIGN_IN_FAILED',
      `The authorize endpoint answered HTTP ${first.status} without a redirect or form: ${text}`,
    );
  }
  redirectUri = decodeHtml(action);
  params = {};
  for (const m of first.body.matchAll(/<input[^>]*\bname="([^"]*)"[^>]*\bvalue="([^"]*)"/gi)) {
    params[decodeHtml(m[1] ?? '')] = decodeHtml(m[2] ?? '');
  }
  method = 'POST';
  if (options.deliver === false) return { redirectUri, params };
  const delivered = await send(
    new URL(redirectUri),
    method,
    new URLSearchParams(params).toString(),
    options.ca,
    timeoutMs,
  );
  return { redirectUri, params, delivered: { status: delivered.status, body: delivered.body } };
}

function send(
  url: URL,
  method: 'GET' | 'POST',
  body: string | undefined,
  ca: string | string[] | undefined,
  timeoutMs: number,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { connection: 'close' };
    if (body !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const req =
      url.protocol === 'https:'
        ? httpsRequest(url, { method, headers, ...(ca ? { ca } : {}), agent: false })
        : httpRequest(url, { method, headers, agent: false });
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`no answer from ${url.origin} within ${timeoutMs} ms`)),
    );
    req.on('error', (err) =>
      reject(
        new EmulatorError(
          'SIGN_IN_FAILED',
          `Request to ${url.origin}${url.pathname} failed: ${err.message}`,
          { cause: err },
        ),
      ),
    );
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.end(body);
  });
}

function decodeHtml(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
