// One client connection of the front end: its own upstream connection to redis-server, the
// byte pumps both ways, expiry and eviction. AUTH handling is in auth-flow.ts, reply accounting
// in reply-tracker.ts.

import net from 'node:net';
import type { EventEmitter } from 'node:events';
import { handleAuth, type AuthHost } from './auth-flow.js';
import type { AclPolicyUser } from './policies.js';
import { ReplyScanner, type FrameInfo, type FrameSink } from './reply-scanner.js';
import { ReplyTracker, type Grant, type LocalReply, type ReplyOwner } from './reply-tracker.js';
import { RequestParser } from './request-parser.js';
import { encodeError } from './resp.js';
import type { AccessCheck, RedisFrontEventMap, RedisFrontStats } from './types.js';

const FLUSH_TIMEOUT_MS = 1_000;
/** Size of the buffer redis-server's replies are read into (Node's default read size). */
const READ_BUFFER_BYTES = 64 * 1024;
/**
 * Reply bytes up to this size are copied out of the read buffer (into Node's buffer pool) when
 * the client write would hold them, so the read buffer stays reusable; larger ones are written
 * as they are and the next read gets a new buffer. Buffer.from uses the pool below 4 KB.
 */
const COPY_OUT_MAX_BYTES = 4 * 1024 - 1;

/** What a connection needs from its front end. */
export interface ConnectionContext {
  upstream: { host: string; port: number; socketPath?: string };
  authenticate(username: string, password: string): Promise<AccessCheck>;
  policyUser(policy: string): AclPolicyUser | undefined;
  aclReady(): Promise<void>;
  rejectHelloAuth: boolean;
  now(): number;
  stats: RedisFrontStats;
  events: EventEmitter<RedisFrontEventMap>;
  closed(connection: FrontConnection): void;
}

function safeUsername(username: string): string {
  return username.length <= 64 ? username : '<redacted: too long>';
}

/**
 * A proxied client connection.
 *
 * @example
 * ```ts
 * server.on('connection', (socket) => new FrontConnection(context, 1, socket, false));
 * ```
 */
export class FrontConnection implements AuthHost, ReplyOwner, FrameSink {
  /** True once redis-server has accepted an AUTH forwarded for a verified token. */
  authenticated = false;
  /** The principal's oid (when authenticated). */
  oid = '';
  /** Fingerprint of the token the connection is authenticated with. */
  private tokenId = '';
  /** When the connection is evicted unless a fresh AUTH runs, in ms since the epoch. */
  expiresAtMs = Infinity;
  /** True once an AUTH with a verified token was sent (until RESET). */
  verifiedAuth = false;
  /** True while an AUTH is being verified (client input paused). */
  authPending = false;
  /** @internal */
  readonly tracker = new ReplyTracker(this);
  /** @internal */
  readonly parser: RequestParser;

  private readonly upstream: net.Socket;
  private readonly scanner = new ReplyScanner(this);
  private clientBackpressure = false;
  private closing = false;
  private isClosed = false;
  private closeTimer: NodeJS.Timeout | undefined;
  /** The upstream chunk being scanned, and how much of it was written to the client. */
  private chunk: Buffer | null = null;
  private written = 0;
  /** Reused for upstream reads while nothing written to the client still references it. */
  private readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  /** True when a client write still pending holds part of `readBuffer`. */
  private readBufferHeld = false;

  constructor(
    readonly ctx: ConnectionContext,
    readonly id: number,
    readonly client: net.Socket,
    readonly tls: boolean,
  ) {
    client.setNoDelay(true);
    const { host, port, socketPath } = ctx.upstream;
    this.upstream = net.connect({
      ...(socketPath ? { path: socketPath } : { host, port }),
      // Replies are read into one reused buffer: no allocation or stream event per read.
      onread: {
        buffer: () => this.nextReadBuffer(),
        callback: (bytes, buffer) => {
          this.onUpstreamData(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
          return true; // pause() still stops reading
        },
      },
    });
    this.upstream.setNoDelay(true);
    this.parser = new RequestParser({
      forward: (bytes) => this.forward(bytes),
      command: (name, argc) => {
        if (name === 'reset') this.verifiedAuth = false;
        else if (!this.verifiedAuth && !this.authenticated) ctx.stats.unauthenticatedCommands++;
        this.tracker.command(name, argc);
      },
      collected: (args) => handleAuth(this, args),
      protocolError: (message) => this.onProtocolError(message),
      authenticated: () => this.verifiedAuth || this.authenticated,
    });
    client.on('data', (chunk: Buffer) => this.parser.push(chunk));
    client.on('end', () => this.destroy());
    client.on('error', () => this.destroy());
    client.on('close', () => this.destroy());
    client.on('drain', () => this.upstream.resume());
    this.upstream.on('drain', () => {
      this.clientBackpressure = false;
      this.resumeClient();
    });
    this.upstream.on('error', () => this.destroy());
    this.upstream.on('close', () => this.endGracefully());
  }

  /** True once the connection is closed. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Closes the connection now (fault injection, front end close). */
  destroy(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.parser.kill();
    clearTimeout(this.closeTimer);
    this.client.destroy();
    this.upstream.destroy();
    this.tracker.clear();
    this.ctx.closed(this);
  }

  /** Evicts the connection if its token expired; returns true when it did. */
  checkExpiry(nowMs: number): boolean {
    if (!this.authenticated || this.isClosed || nowMs < this.expiresAtMs) return false;
    this.evict();
    return true;
  }

  private evict(): void {
    if (this.isClosed) return;
    this.ctx.stats.evictions++;
    this.ctx.events.emit('eviction', { oid: this.oid });
    this.destroy();
  }

  // ---- client → redis-server ----

  /** Sends request bytes to redis-server. */
  forward(bytes: Buffer): void {
    if (this.isClosed || this.closing) return;
    if (!this.upstream.write(bytes)) {
      this.clientBackpressure = true;
      this.client.pause();
    }
  }

  /** Resumes reading the client unless an AUTH or backpressure holds it. */
  resumeClient(): void {
    if (!this.authPending && !this.clientBackpressure && !this.isClosed) this.client.resume();
  }

  /** Queues a reply the front end makes itself; it is written in order with redis-server's. */
  reply(reply: LocalReply): void {
    this.tracker.expectLocal(reply);
    this.drainLocals();
  }

  /** Counts and reports a refused AUTH (never with the token). */
  countFailure(username: string, reason: string): void {
    const reauth = this.authenticated;
    if (reauth) this.ctx.stats.reauthFailed++;
    else this.ctx.stats.authFailed++;
    this.ctx.events.emit('auth', { oid: safeUsername(username), ok: false, reason, reauth });
  }

  private onProtocolError(message: string): void {
    this.ctx.stats.protocolErrors++;
    this.client.pause();
    this.reply({
      kind: 'local',
      bytes: encodeError(`ERR Protocol error: ${message}`),
      close: true,
    });
    // Redis answers after the commands before it; do not wait forever behind a blocked one.
    if (!this.isClosed && !this.closeTimer) {
      this.closeTimer = setTimeout(() => this.destroy(), FLUSH_TIMEOUT_MS);
      this.closeTimer.unref();
    }
  }

  // ---- redis-server → client ----

  private writeClient(bytes: Buffer): void {
    if (this.isClosed || bytes.length === 0) return;
    if (!this.client.write(bytes)) this.upstream.pause();
  }

  /**
   * Writes reply bytes that are a view of `readBuffer`. A plaintext write that cannot finish at
   * once keeps what it was given; a TLS write reports itself pending until later in the event
   * loop (`writableLength > 0`), although Node has encrypted the bytes by then (an internal
   * behaviour, not relied on). In both cases small replies (AUTH's `+OK`, a GET) are copied,
   * which costs less than a new 64 KB read buffer and the garbage collection it brings on every
   * read of every TLS connection.
   */
  private writeClientView(view: Buffer): void {
    if (this.isClosed || view.length === 0) return;
    const client = this.client;
    if ((this.tls || client.writableLength > 0) && view.length <= COPY_OUT_MAX_BYTES) {
      this.writeClient(Buffer.from(view));
      return;
    }
    this.writeClient(view);
    if (client.writableLength > 0) this.readBufferHeld = true;
  }

  /**
   * The buffer for the next upstream read: a new one while a client write still holds the
   * current one. Per connection, not shared by all: Node asks for the next read's buffer at the
   * end of the previous read, so every idle connection would hold the shared buffer and
   * overwrite it under a write that another connection left pending (tried; the test of a slow
   * plaintext reader in redis-front-lifecycle.test.ts caught it).
   */
  private nextReadBuffer(): Buffer {
    if (this.readBufferHeld) {
      this.readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
      this.readBufferHeld = false;
    }
    return this.readBuffer;
  }

  private onUpstreamData(chunk: Buffer): void {
    if (this.isClosed) return;
    if (this.tracker.monitor) {
      this.writeClientView(chunk);
      return;
    }
    this.chunk = chunk;
    this.written = 0;
    try {
      this.scanner.scan(chunk);
    } catch {
      this.destroy(); // redis-server sent something that is not RESP
      return;
    } finally {
      this.chunk = null;
    }
    const from = this.written;
    if (from < chunk.length) this.writeClientView(from === 0 ? chunk : chunk.subarray(from));
  }

  /** @internal A reply frame ended at `end` in the chunk being scanned. */
  frame(end: number, info: FrameInfo): void {
    const tracker = this.tracker;
    tracker.frame(info);
    if (tracker.monitor) this.scanner.stopped = true; // the rest is forwarded verbatim
    if (tracker.localDue) {
      this.writeClientView(this.chunk!.subarray(this.written, end));
      this.written = end;
      this.drainLocals();
    }
  }

  private drainLocals(): void {
    if (this.scanner.midFrame && !this.tracker.monitor) return;
    while (!this.isClosed) {
      const entry = this.tracker.takeLocal();
      if (!entry) return;
      this.writeClient(entry.bytes);
      if (entry.close) {
        this.endGracefully();
        return;
      }
    }
  }

  // ---- reply owner ----

  /** @internal redis-server accepted the AUTH carrying `grant`. */
  granted(grant: Grant): void {
    const reauth = this.authenticated;
    if (reauth && this.ctx.now() >= this.expiresAtMs) {
      this.evict(); // the token ran out before redis-server could run the new AUTH
      return;
    }
    if (reauth && grant.tokenId === this.tokenId) this.ctx.stats.redundantReauths++;
    this.authenticated = true;
    this.oid = grant.oid;
    this.expiresAtMs = grant.expiresAtMs;
    this.tokenId = grant.tokenId;
    if (reauth) this.ctx.stats.reauthOk++;
    else this.ctx.stats.authOk++;
    this.ctx.events.emit('auth', { oid: grant.oid, ok: true, reauth });
  }

  /** @internal redis-server refused the AUTH carrying `grant`. */
  refused(grant: Grant): void {
    this.countFailure(grant.oid, 'redis-server refused AUTH in this connection state');
  }

  /** @internal redis-server ran RESET. */
  reset(): void {
    this.authenticated = false;
    this.expiresAtMs = Infinity;
  }

  private endGracefully(): void {
    if (this.isClosed || this.closing) return;
    this.closing = true;
    this.parser.kill();
    this.client.end();
    this.upstream.end();
    clearTimeout(this.closeTimer);
    this.closeTimer = setTimeout(() => this.destroy(), FLUSH_TIMEOUT_MS);
    this.closeTimer.unref();
  }
}
