// Structural views of the ioredis 5.x / 6.x objects the adapter touches. Both majors satisfy
// them; fields marked "semi-private" are public in ioredis's typings but undocumented.

/** A command as ioredis passes it to `sendCommand`. */
export interface IORedisCommandLike {
  name: string;
  args: unknown[];
  inTransaction?: boolean;
  promise: Promise<unknown>;
  resolve(result: unknown): void;
  reject(error: Error): void;
  setReplyContext?(context: unknown): void;
}

/** The `Command` class of the ioredis copy that created an instance (`Redis.Command`). */
export type IORedisCommandClass = new (
  name: string,
  args: unknown[],
  options?: { replyEncoding?: string | null },
) => IORedisCommandLike;

/** Options of an ioredis instance that the adapter reads or writes. */
export interface IORedisOptionsLike {
  host?: string;
  port?: number;
  path?: string;
  username?: string;
  password?: string;
  tls?: unknown;
  protocol?: number;
  autoResubscribe?: boolean;
  monitor?: boolean;
  [key: string]: unknown;
}

/** The connector ioredis calls on each connection attempt (semi-private `redis.connector`). */
export interface IORedisConnectorLike {
  connect(emit: unknown): Promise<unknown>;
  disconnect(): void;
  /** Semi-private: the socket of the last attempt. */
  stream?: unknown;
}

/** The subset of an ioredis `Redis` instance the adapter uses (v5 and v6). */
export interface IORedisLike {
  options: IORedisOptionsLike;
  readonly status: string;
  readonly mode?: string;
  /** Semi-private: the current connection's handshake and subscriptions. */
  condition?: {
    auth?: string | [string, string];
    subscriber?: false | { channels(type: string): string[] };
    protocol?: number;
  } | null;
  /** Semi-private. */
  connector?: IORedisConnectorLike;
  /** Semi-private: the current connection's socket (set once the connector made it). */
  stream?: unknown;
  /** Semi-private: counts connection attempts. */
  connectionEpoch?: number;
  /** Semi-private: set by `disconnect()`. */
  manuallyClosing?: boolean;
  /** Semi-private: the pending reconnect timer while `status` is 'reconnecting'. */
  reconnectTimeout?: unknown;
  /** Semi-private: the last connection's state, for the next handshake to restore. */
  prevCondition?: unknown;
  /** Semi-private: commands unanswered when the last connection closed. */
  prevCommandQueue?: unknown;
  /** Semi-private: sets `status` and emits the matching event. */
  setStatus?(status: string, arg?: unknown): void;
  /** Semi-private: rejects every queued command with `error`. */
  flushQueue?(error: Error): void;
  /**
   * Semi-private: every error reply goes through it (applies `reconnectOnError`, then rejects
   * `item.command`).
   */
  handleReconnection?(error: Error, item: { command: IORedisCommandLike }): void;
  sendCommand(command: IORedisCommandLike, stream?: unknown, ...rest: unknown[]): unknown;
  duplicate(override?: Record<string, unknown>): IORedisLike;
  connect(): Promise<void>;
  disconnect(reconnect?: boolean): void;
  quit(): Promise<unknown>;
  ping(): Promise<unknown>;
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  psubscribe(...patterns: string[]): Promise<unknown>;
  ssubscribe(...channels: string[]): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  emit(event: string | symbol, ...args: unknown[]): boolean;
  listenerCount(event: string): number;
}
