import { randomBytes, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { escapeHtml, sendHtml } from './http.js';
import { countError, parseScope, type IdpState } from './state.js';
import { purge } from './token-endpoint.js';

const CODE_TTL_MS = 10 * 60 * 1000;

/**
 * Serves `/{tenant}/oauth2/v2.0/authorize` without any UI: it signs in the `login_hint` user (or
 * the tenant's first user) at once and answers in the requested response mode: a 302 redirect
 * (`query`, `fragment`) or an auto-submitting form (`form_post`).
 */
export function handleAuthorize(
  state: IdpState,
  params: URLSearchParams,
  res: ServerResponse,
): void {
  const { tenant } = state;
  const clientId = params.get('client_id') ?? '';
  const redirectUri = params.get('redirect_uri') ?? '';
  const app = tenant.findByClientId(clientId);
  const known =
    clientId.toLowerCase() === tenant.config.publicClientId.toLowerCase() ||
    app?.kind === 'servicePrincipal';
  if (!known) {
    countError(state, { error: 'unauthorized_client', status: 400, code: 700016, description: '' });
    return errorPage(
      res,
      `AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${tenant.tenantId}'.`,
    );
  }
  let redirect: URL;
  try {
    redirect = new URL(redirectUri);
  } catch {
    countError(state, { error: 'invalid_request', status: 400, code: 90102, description: '' });
    return errorPage(res, "AADSTS90102: 'redirect_uri' value must be a valid absolute URI.");
  }
  if (!isLoopbackRedirect(redirect)) {
    // Entra sends a code only to a registered reply URL; the emulator's apps register the
    // loopback ones a native or CLI app uses (any port, as Entra allows for http://localhost).
    countError(state, { error: 'invalid_request', status: 400, code: 50011, description: '' });
    return errorPage(
      res,
      `AADSTS50011: The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${clientId}'. The emulator's applications accept loopback redirect URIs only (http://localhost:<port>, http://127.0.0.1:<port>).`,
    );
  }
  const mode = params.get('response_mode') ?? 'query';
  const state_ = params.get('state');
  const answer = (fields: Record<string, string>) =>
    deliver(res, redirect, mode, { ...fields, ...(state_ !== null ? { state: state_ } : {}) });

  if (params.get('response_type') !== 'code') {
    return answer({
      error: 'unsupported_response_type',
      error_description: 'AADSTS700054: response_type must be code.',
    });
  }
  const scope = parseScope(params.get('scope'), tenant.tenantId, false);
  if (!scope.ok) {
    countError(state, scope.error);
    return answer({
      error: scope.error.error,
      error_description: `AADSTS${scope.error.code}: ${scope.error.description}`,
    });
  }
  const challenge = params.get('code_challenge') ?? undefined;
  const method = params.get('code_challenge_method') ?? (challenge ? 'plain' : undefined);
  if (method !== undefined && method !== 'S256' && method !== 'plain') {
    return answer({
      error: 'invalid_request',
      error_description: 'AADSTS501491: Invalid code_challenge_method.',
    });
  }
  const hint = params.get('login_hint') ?? undefined;
  const user = tenant.findUser(hint);
  if (!user) {
    countError(state, { error: 'invalid_request', status: 400, code: 50034, description: '' });
    return answer({
      error: 'invalid_request',
      error_description: `AADSTS50034: The user account ${hint ?? ''} does not exist in the ${tenant.tenantId} directory.`,
    });
  }
  const code = `emu.code.${randomBytes(32).toString('base64url')}`;
  purge(state.codes);
  state.codes.set(code, {
    clientId,
    redirectUri,
    userOid: user.oid,
    scope: params.get('scope') ?? '',
    ...(params.get('nonce') ? { nonce: params.get('nonce') as string } : {}),
    ...(challenge ? { codeChallenge: challenge } : {}),
    ...(method ? { codeChallengeMethod: method } : {}),
    expiresAtMs: Date.now() + CODE_TTL_MS,
  });
  const clientInfo = Buffer.from(JSON.stringify({ uid: user.oid, utid: tenant.tenantId })).toString(
    'base64url',
  );
  answer({ code, client_info: clientInfo, session_state: randomUUID() });
}

function isLoopbackRedirect(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    (host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host))
  );
}

function deliver(
  res: ServerResponse,
  redirect: URL,
  mode: string,
  fields: Record<string, string>,
): void {
  if (mode === 'form_post') {
    const inputs = Object.entries(fields)
      .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}" />`)
      .join('');
    return sendHtml(
      res,
      200,
      `<html><head><title>Working...</title></head><body>` +
        `<form method="POST" name="hiddenform" action="${escapeHtml(redirect.href)}">${inputs}` +
        `<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit" /></noscript>` +
        `</form><script>document.forms[0].submit();</script></body></html>`,
    );
  }
  const target = new URL(redirect.href);
  const encoded = new URLSearchParams(fields);
  if (mode === 'fragment') target.hash = encoded.toString();
  else for (const [k, v] of encoded) target.searchParams.set(k, v);
  res.writeHead(302, { location: target.href, 'cache-control': 'no-store' });
  res.end();
}

function errorPage(res: ServerResponse, message: string): void {
  sendHtml(
    res,
    400,
    `<html><body><h1>Sign in failed</h1><p id="error">${escapeHtml(message)}</p></body></html>`,
  );
}
