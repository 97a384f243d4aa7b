// Shared helpers of the redis-front tests: a throwaway CA and server certificate, RS256 test
// tokens with a matching authenticator, a raw RESP client, and a redis-server + front stack.

import net from 'node:net';
import tls from 'node:tls';
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
import { generate } from 'selfsigned';
import { startRedisServer, type RedisServer } from '../src/redis-server.js';
import { startRedisFront } from '../src/redis-front/index.js';
import type {
  AccessCheck,
  Authenticator,
  RedisFront,
  RedisFrontOptions,
} from '../src/redis-front/index.js';

export const AUDIENCE = 'https://redis.azure.com';
export const ISSUER = 'https://login.test/tenant-1/v2.0';
export const OWNER = '11111111-1111-1111-1111-111111111111';
export const READER = '22222222-2222-2222-2222-222222222222';
export const CONTRIBUTOR = '33333333-3333-3333-3333-333333333333';
export const STRANGER = '44444444-4444-4444-4444-444444444444';

/** A CA and a server certificate for 127.0.0.1/localhost signed by it. */
export async function makeTls(): Promise<{ ca: string; key: string; cert: string }> {
  const ca = await generate([{ name: 'commonName', value: 'redis-front test CA' }], {
    keySize: 2048,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const leaf = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { ca: ca.cert, key: leaf.private, cert: leaf.cert };
}

export interface TokenKit {
  sign(claims: { oid: string; lifetimeMs?: number; aud?: string; expMs?: number }): Promise<string>;
  authenticate: Authenticator;
  policies: Map<string, string>;
}

/** Signs RS256 tokens and verifies them like the emulator's tenant would. */
export async function makeTokens(): Promise<TokenKit> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const verifyKey = await importJWK(await exportJWK(publicKey), 'RS256');
  const policies = new Map<string, string>([
    [OWNER, 'Data Owner'],
    [READER, 'Data Reader'],
    [CONTRIBUTOR, 'Data Contributor'],
  ]);
  return {
    policies,
    async sign({ oid, lifetimeMs = 60_000, aud = AUDIENCE, expMs }) {
      const nowS = Math.floor(Date.now() / 1000);
      const exp = expMs !== undefined ? expMs / 1000 : (Date.now() + lifetimeMs) / 1000;
      return new SignJWT({ oid, tid: 'tenant-1' })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(ISSUER)
        .setAudience(aud)
        .setIssuedAt(nowS - 5)
        .setNotBefore(nowS - 5)
        .setExpirationTime(exp)
        .sign(privateKey);
    },
    async authenticate(username, password): Promise<AccessCheck> {
      try {
        const { payload } = await jwtVerify(password, verifyKey, {
          issuer: ISSUER,
          audience: [AUDIENCE, 'acca5fbb-b7e4-4009-81f1-37e38fd66d78'],
          algorithms: ['RS256'],
          clockTolerance: 0,
        });
        if (payload.oid !== username) return { ok: false, reason: 'username is not the token oid' };
        const policy = policies.get(username);
        if (!policy) return { ok: false, reason: 'principal has no access policy' };
        return { ok: true, oid: username, expiresAtMs: (payload.exp ?? 0) * 1000, policy };
      } catch (e) {
        return { ok: false, reason: (e as Error & { code?: string }).code ?? 'invalid token' };
      }
    },
  };
}

export type Reply =
  | string
  | number
  | bigint
  | boolean
  | null
  | Error
  | Reply[]
  | { push: Reply[] }
  | Map<Reply, Reply>;

function parse(buf: Buffer, pos: number): { value: Reply; end: number } | null {
  const cr = buf.indexOf(13, pos);
  if (cr < 0 || cr + 1 >= buf.length) return null;
  const line = buf.toString('utf8', pos + 1, cr);
  const after = cr + 2;
  const type = String.fromCharCode(buf[pos]!);
  const many = (n: number): { value: Reply[]; end: number } | null => {
    const items: Reply[] = [];
    let p = after;
    for (let i = 0; i < n; i++) {
      const r = parse(buf, p);
      if (!r) return null;
      items.push(r.value);
      p = r.end;
    }
    return { value: items, end: p };
  };
  switch (type) {
    case '+':
      return { value: line, end: after };
    case '-':
      return { value: new Error(line), end: after };
    case ':':
      return { value: Number(line), end: after };
    case '_':
      return { value: null, end: after };
    case ',':
      return { value: Number(line), end: after };
    case '#':
      return { value: line === 't', end: after };
    case '(':
      return { value: BigInt(line), end: after };
    case '$':
    case '=':
    case '!': {
      const n = Number(line);
      if (n < 0) return { value: null, end: after };
      if (after + n + 2 > buf.length) return null;
      const s = buf.toString('utf8', after, after + n);
      return { value: type === '!' ? new Error(s) : s, end: after + n + 2 };
    }
    case '*':
    case '~':
    case '>': {
      const n = Number(line);
      if (n < 0) return { value: null, end: after };
      const r = many(n);
      if (!r) return null;
      return { value: type === '>' ? { push: r.value } : r.value, end: r.end };
    }
    case '%':
    case '|': {
      const r = many(Number(line) * 2);
      if (!r) return null;
      const m = new Map<Reply, Reply>();
      for (let i = 0; i < r.value.length; i += 2) m.set(r.value[i]!, r.value[i + 1]!);
      return { value: m, end: r.end };
    }
    default:
      throw new Error(`bad RESP type ${type}`);
  }
}

/** RESP encoding of a command. */
export function cmd(...args: string[]): Buffer {
  return Buffer.from(
    `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`,
  );
}

/** A raw RESP connection: write exact bytes, read replies (and pushes) one by one. */
export class RawClient {
  private buf = Buffer.alloc(0);
  private readonly replies: Reply[] = [];
  private waiter: (() => void) | undefined;
  closed = false;
  closedAtMs = 0;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      for (;;) {
        const r = parse(this.buf, 0);
        if (!r) break;
        this.replies.push(r.value);
        this.buf = this.buf.subarray(r.end);
      }
      this.waiter?.();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.closedAtMs = Date.now();
      this.waiter?.();
    });
  }

  static async connect(port: number, ca?: string): Promise<RawClient> {
    const socket = ca
      ? tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' })
      : net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once(ca ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  send(...commands: (Buffer | string)[]): void {
    for (const c of commands) this.socket.write(c);
  }

  /** Next reply or push; rejects after `timeoutMs` or when the connection closes first. */
  async next(timeoutMs = 3_000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      if (this.closed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a reply');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.replies.shift()!;
  }

  async replies_(n: number, timeoutMs = 3_000): Promise<Reply[]> {
    const out: Reply[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next(timeoutMs));
    return out;
  }

  /** Resolves when the server closes the connection. */
  async waitClosed(timeoutMs = 5_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closedAtMs;
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface Stack {
  server: RedisServer;
  front: RedisFront;
  tls: { ca: string; key: string; cert: string };
  tokens: TokenKit;
  close(): Promise<void>;
}

/** redis-server + front (TLS and plaintext) with the test authenticator. */
export async function startStack(
  extra: Partial<RedisFrontOptions> = {},
  shared?: { tls?: Stack['tls']; tokens?: TokenKit },
): Promise<Stack> {
  const tlsMaterial = shared?.tls ?? (await makeTls());
  const tokens = shared?.tokens ?? (await makeTokens());
  const server = await startRedisServer();
  let front: RedisFront;
  try {
    front = await startRedisFront({
      upstream: server,
      authenticate: tokens.authenticate,
      tls: { key: tlsMaterial.key, cert: tlsMaterial.cert },
      plainPort: 0,
      ...extra,
    });
  } catch (e) {
    await server.stop();
    throw e;
  }
  return {
    server,
    front,
    tls: tlsMaterial,
    tokens,
    async close() {
      await front.close();
      await server.stop();
    },
  };
}

/** ioredis options for the stack's TLS port, authenticating as `username` with `password`. */
export function ioredisTlsOptions(
  stack: Stack,
  username: string,
  password: string,
): {
  host: string;
  port: number;
  tls: { ca: string; servername: string };
  username: string;
  password: string;
} {
  return {
    host: '127.0.0.1',
    port: stack.front.tlsPort!,
    tls: { ca: stack.tls.ca, servername: 'localhost' },
    username,
    password,
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `predicate` every 20 ms until it holds or `timeoutMs` passes, then returns its last value. */
export async function eventually(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate() && Date.now() < deadline) await sleep(20);
  return predicate();
}
