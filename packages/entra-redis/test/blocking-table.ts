// The blocking commands of docs/semantics.md ("Blocking commands"), one row each, with how to
// call them on ioredis and on node-redis (their typed methods, as applications do) and how a
// producer feeds them, and a connection of each client variant to run them on. Shared by the
// rotation test and the identity-outage test.
import type { TokenSource } from 'entra-redis';
import { waitFor, type TestEmulator } from './helpers/emulator.js';
import { connect, VARIANTS, type AnyRedis } from './ioredis-fixture.js';
import { NODE_REDIS_VARIANTS, nodeRedisClient, type Client } from './node-redis-fixture.js';

/** The keys of one consumer: where it pops from, and where BLMOVE/BRPOPLPUSH move items to. */
export interface Keys {
  readonly src: string;
  readonly dst: string;
}

/** How long a call blocks: for ever (0), or longer than any token of the tests lives. */
export type Block = 'forever' | 'long';
const seconds = (b: Block): number => (b === 'forever' ? 0 : 600);
const ms = (b: Block): number => seconds(b) * 1000;

/** One blocking command. Items are strings `item:<n>`; a zset item's score is `n`. */
export interface BlockingRow {
  /** As in the docs' table. */
  readonly command: string;
  /** The producer's command adding item `n` to `key`. */
  push(key: string, n: number): string[];
  /** Set-up before any consumer blocks (XREADGROUP's group). */
  readonly setup?: (key: string) => string[];
  /** True for BLMOVE and BRPOPLPUSH: each item popped is also pushed to `dst`. */
  readonly moves?: true;
  /** XREAD: the first call passes `$`, the next ones the last id received. */
  readonly cursor?: true;
  io(c: AnyRedis, k: Keys, b: Block, id: string): Promise<unknown>;
  nr(c: Client, k: Keys, b: Block, id: string): Promise<unknown>;
}

const GROUP = 'g';
const rpush = (key: string, n: number) => ['RPUSH', key, `item:${n}`];
const lpush = (key: string, n: number) => ['LPUSH', key, `item:${n}`];
const zadd = (key: string, n: number) => ['ZADD', key, String(n), `item:${n}`];
const xadd = (key: string, n: number) => ['XADD', key, '*', 'n', `item:${n}`];

export const BLOCKING_ROWS: readonly BlockingRow[] = [
  {
    command: 'BLPOP',
    push: rpush,
    io: (c, k, b) => c.blpop(k.src, seconds(b)),
    nr: (c, k, b) => c.blPop(k.src, seconds(b)),
  },
  {
    command: 'BRPOP',
    push: lpush,
    io: (c, k, b) => c.brpop(k.src, seconds(b)),
    nr: (c, k, b) => c.brPop(k.src, seconds(b)),
  },
  {
    command: 'BLMOVE',
    push: rpush,
    moves: true,
    io: (c, k, b) => c.blmove(k.src, k.dst, 'LEFT', 'RIGHT', seconds(b)),
    nr: (c, k, b) => c.blMove(k.src, k.dst, 'LEFT', 'RIGHT', seconds(b)),
  },
  {
    command: 'BRPOPLPUSH',
    push: lpush,
    moves: true,
    io: (c, k, b) => c.brpoplpush(k.src, k.dst, seconds(b)),
    nr: (c, k, b) => c.brPopLPush(k.src, k.dst, seconds(b)),
  },
  {
    command: 'BZPOPMIN',
    push: zadd,
    io: (c, k, b) => c.bzpopmin(k.src, seconds(b)),
    nr: (c, k, b) => c.bzPopMin(k.src, seconds(b)),
  },
  {
    command: 'BZPOPMAX',
    push: zadd,
    io: (c, k, b) => c.bzpopmax(k.src, seconds(b)),
    nr: (c, k, b) => c.bzPopMax(k.src, seconds(b)),
  },
  {
    command: 'BLMPOP',
    push: rpush,
    io: (c, k, b) => c.blmpop(seconds(b), 1, k.src, 'LEFT', 'COUNT', 2),
    nr: (c, k, b) => c.blmPop(seconds(b), k.src, 'LEFT', { COUNT: 2 }),
  },
  {
    command: 'BZMPOP',
    push: zadd,
    io: (c, k, b) => c.bzmpop(seconds(b), 1, k.src, 'MIN', 'COUNT', 2),
    nr: (c, k, b) => c.bzmPop(seconds(b), k.src, 'MIN', { COUNT: 2 }),
  },
  {
    command: 'XREAD',
    push: xadd,
    cursor: true,
    io: (c, k, b, id) => c.xread('BLOCK', ms(b), 'STREAMS', k.src, id),
    nr: (c, k, b, id) => c.xRead({ key: k.src, id }, { BLOCK: ms(b) }),
  },
  {
    command: 'XREADGROUP',
    push: xadd,
    setup: (key) => ['XGROUP', 'CREATE', key, GROUP, '$', 'MKSTREAM'],
    io: (c, k, b) => c.xreadgroup('GROUP', GROUP, 'c', 'BLOCK', ms(b), 'STREAMS', k.src, '>'),
    nr: (c, k, b) => c.xReadGroup(GROUP, 'c', { key: k.src, id: '>' }, { BLOCK: ms(b) }),
  },
];

/** Every string in a reply (arrays, Maps, objects, Buffers), in order. */
function strings(reply: unknown, out: string[] = []): string[] {
  if (typeof reply === 'string') out.push(reply);
  else if (Buffer.isBuffer(reply)) out.push(reply.toString());
  else if (Array.isArray(reply)) for (const r of reply) strings(r, out);
  else if (reply instanceof Map) for (const [k, v] of reply) strings([k, v], out);
  else if (reply && typeof reply === 'object')
    for (const v of Object.values(reply)) strings(v, out);
  return out;
}

/** The item numbers in a reply, whatever its shape (client, protocol). */
export function itemsOf(reply: unknown): number[] {
  return strings(reply)
    .filter((s) => /^item:\d+$/.test(s))
    .map((s) => Number(s.slice('item:'.length)));
}

/** The newest stream entry id in a reply (XREAD's next cursor), if any. */
export function lastIdOf(reply: unknown): string | undefined {
  const ids = strings(reply).filter((s) => /^\d+-\d+$/.test(s));
  const n = (id: string) => id.split('-').map(BigInt) as [bigint, bigint];
  return ids.sort((a, b) => {
    const [x, y] = [n(a), n(b)];
    return x[0] === y[0] ? Number(x[1] - y[1]) : Number(x[0] - y[0]);
  })[ids.length - 1];
}

/** One connection of a variant under test, whichever client library. */
export interface Conn {
  call(
    row: BlockingRow,
    keys: { src: string; dst: string },
    b: Block,
    id: string,
  ): Promise<unknown>;
  send(args: string[]): Promise<unknown>;
  /** How many times the client reconnected (the server closed its connection). */
  reconnects(): number;
  close(): Promise<void>;
}

export interface AdapterVariant {
  readonly name: string;
  open(env: TestEmulator, source: TokenSource, name: string): Promise<Conn>;
}

/** Every client variant: ioredis 6 (RESP3, RESP2) and 5, node-redis 6 (RESP3, RESP2) and 5. */
export const ADAPTERS: AdapterVariant[] = [
  ...VARIANTS.map((v) => ({
    name: v.name,
    async open(env: TestEmulator, source: TokenSource, name: string): Promise<Conn> {
      const c = await connect(env, v, source, { connectionName: name });
      let reconnects = 0;
      c.on('reconnecting', () => (reconnects += 1));
      return {
        reconnects: () => reconnects,
        call: (row, keys, b, id) => row.io(c, keys, b, id),
        send: ([cmd, ...args]) => c.call(cmd!, ...args),
        close: async () => void (await c.quit()),
      };
    },
  })),
  ...NODE_REDIS_VARIANTS.map((v) => ({
    name: `node-${v.name}`,
    async open(env: TestEmulator, source: TokenSource, name: string): Promise<Conn> {
      const c = nodeRedisClient(env, source, v, { name });
      let reconnects = 0;
      c.on('reconnecting', () => (reconnects += 1));
      await c.connect();
      return {
        reconnects: () => reconnects,
        call: (row, keys, b, id) => row.nr(c as Client, keys, b, id),
        send: (args) => c.sendCommand(args),
        close: async () => c.destroy(),
      };
    },
  })),
];

/** Resolves once each named connection was seen blocked (CLIENT LIST flag `b`) at least once. */
export async function allBlocked(
  producer: Conn,
  names: string[],
  timeoutMs: number,
): Promise<void> {
  const seen = new Set<string>();
  await waitFor(
    async () => {
      for (const line of String(await producer.send(['CLIENT', 'LIST'])).split('\n')) {
        const name = /\bname=(\S+)/.exec(line)?.[1];
        if (name && names.includes(name) && /\bflags=\S*b/.test(line)) seen.add(name);
      }
      return seen.size === names.length;
    },
    timeoutMs,
    `every consumer blocked (seen: ${[...seen].join(', ')})`,
  );
}
