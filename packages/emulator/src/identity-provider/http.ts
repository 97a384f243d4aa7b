import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest request body the identity provider reads, bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Reads a request body (form or JSON) up to {@link MAX_BODY_BYTES}; rejects beyond. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Sends a JSON body with Entra's usual headers. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store, no-cache',
    pragma: 'no-cache',
    'x-ms-request-id': randomUUID(),
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Sends an HTML page. */
export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(html),
  });
  res.end(html);
}

/** An Entra (AADSTS) error: OAuth `error`, HTTP status, numeric code and description. */
export interface EntraError {
  error: string;
  status: number;
  code: number;
  description: string;
}

/** Builds an {@link EntraError}. */
export function entraError(
  error: string,
  status: number,
  code: number,
  description: string,
): EntraError {
  return { error, status, code, description };
}

/** Sends an Entra-style error body: `error`, `error_description` (AADSTS…), `error_codes`, ids. */
export function sendEntraError(
  res: ServerResponse,
  err: EntraError,
  headers: Record<string, string> = {},
): void {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  sendJson(
    res,
    err.status,
    {
      error: err.error,
      error_description:
        `AADSTS${err.code}: ${err.description} Trace ID: ${traceId} ` +
        `Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [err.code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${err.code}`,
    },
    headers,
  );
}

/** Escapes text for HTML attribute values and content. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
