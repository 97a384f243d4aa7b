import type { TokenSource } from 'entra-redis';

/**
 * What the demo's workload needs from a Redis client, whichever library it is: node-redis and
 * ioredis are each wrapped once (see clients-*.ts), so the workload is written once.
 */
export interface DemoConnection {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<string | null>;
  /** MULTI, INCR key, INCR key, EXEC: returns the two counter values. */
  incrTwiceInTransaction(key: string): Promise<[number, number]>;
  publish(channel: string, message: string): Promise<unknown>;
  lpush(key: string, value: string): Promise<unknown>;
  /** BRPOP key 0: blocks until an item arrives (longer than any token lives). */
  brpopForever(key: string): Promise<string | null>;
  close(): Promise<void>;
}

/** A client under demonstration: its commands, a subscriber and a blocking consumer. */
export interface DemoClient {
  /** e.g. `ioredis 6 RESP3`. */
  readonly label: string;
  readonly main: DemoConnection;
  /** A second connection for BRPOP (a blocked connection can run nothing else). */
  readonly consumer: DemoConnection;
  /** Subscribes a dedicated connection to `channel`; resolves once subscribed. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  close(): Promise<void>;
}

/** Where a demo client connects, and with which token source. */
export interface DemoTarget {
  host: string;
  port: number;
  ca: string;
  tokenSource: TokenSource;
}

/** Builds one client of the demo. */
export type DemoClientFactory = (target: DemoTarget) => Promise<DemoClient>;
