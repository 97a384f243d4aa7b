// Reply accounting of one front-end connection: which reply from redis-server answers which
// command, so that a re-AUTH takes effect when redis-server runs it (not when it was sent),
// replies the front end makes itself keep their place, and pub/sub pushes are not miscounted.

import type { TrackedCommand } from './command-names.js';
import type { FrameInfo } from './reply-scanner.js';

const T_ARRAY = 42;
const T_PUSH = 62;
const T_ATTR = 124;
const T_MAP = 37;
const T_SIMPLE = 43;

/** A verified token, applied when redis-server accepts the AUTH it came with. */
export interface Grant {
  oid: string;
  expiresAtMs: number;
  /** A fingerprint of the token (never the token itself). */
  tokenId: string;
}

/** A reply the front end makes itself, in order with redis-server's replies. */
export interface LocalReply {
  kind: 'local';
  bytes: Buffer;
  /** Close the connection once written. */
  close?: boolean;
}

type SpecialName = 'auth' | 'hello' | 'exec' | 'reset' | 'monitor';
type Special = { kind: 'special'; name: SpecialName; grant?: Grant; grants?: Grant[] };
type Entry =
  | { kind: 'replies'; n: number }
  | LocalReply
  | { kind: 'sub'; type: TrackedCommand; left: number }
  | Special;

/** What the connection does when a tracked reply arrives. */
export interface ReplyOwner {
  /** redis-server accepted an AUTH (or HELLO AUTH, or an EXEC containing one) for `grant`. */
  granted(grant: Grant): void;
  /** redis-server refused an AUTH carrying a verified token. */
  refused(grant: Grant): void;
  /** redis-server ran RESET: the connection is no longer authenticated. */
  reset(): void;
}

/**
 * The queue of replies a connection expects, fed with forwarded commands and reply frames.
 *
 * @example
 * ```ts
 * const tracker = new ReplyTracker(owner);
 * tracker.command('', 3); // a forwarded SET
 * tracker.frame(info); // its +OK
 * ```
 */
export class ReplyTracker {
  /** RESP version of the connection (HELLO changes it). */
  protocol = 2;
  /** True once MONITOR succeeded: everything after is forwarded without accounting. */
  monitor = false;
  /** True between MULTI and EXEC/DISCARD. */
  inMulti = false;
  private channels = 0;
  private patterns = 0;
  private shards = 0;
  private multiGrants: Grant[] = [];
  private queue: Entry[] = [];
  private head = 0;

  constructor(private readonly owner: ReplyOwner) {}

  /** A command was forwarded (`name` '' for an untracked one). */
  command(name: TrackedCommand, argc: number): void {
    switch (name) {
      case '':
        break;
      case 'subscribe':
      case 'psubscribe':
      case 'ssubscribe':
      case 'unsubscribe':
      case 'punsubscribe':
      case 'sunsubscribe':
        if (this.inMulti) break;
        this.queue.push({
          kind: 'sub',
          type: name,
          left: name.includes('unsub') && argc === 1 ? -1 : Math.max(1, argc - 1),
        });
        return;
      case 'multi':
        this.inMulti = true;
        break;
      case 'discard':
        this.inMulti = false;
        this.multiGrants = [];
        break;
      case 'exec':
        this.queue.push({ kind: 'special', name, grants: this.multiGrants });
        this.inMulti = false;
        this.multiGrants = [];
        return;
      case 'reset':
        this.inMulti = false;
        this.multiGrants = [];
        this.queue.push({ kind: 'special', name });
        return;
      case 'monitor':
        this.queue.push({ kind: 'special', name });
        return;
    }
    this.expectReply();
  }

  /** One more ordinary reply is due (merged with the previous ones). */
  expectReply(): void {
    const last = this.queue[this.queue.length - 1];
    if (last?.kind === 'replies' && this.queue.length > this.head) last.n++;
    else this.queue.push({ kind: 'replies', n: 1 });
  }

  /** A forwarded AUTH or HELLO without a token to apply (redis-server answers it). */
  expectUnverified(hello: boolean): void {
    if (hello) this.queue.push({ kind: 'special', name: 'hello' });
    else this.expectReply();
  }

  /** A forwarded AUTH or HELLO carrying a verified token. */
  expectGrant(hello: boolean, grant: Grant): void {
    if (this.inMulti) {
      this.multiGrants.push(grant); // applied if EXEC succeeds
      this.expectReply(); // +QUEUED
    } else {
      this.queue.push({ kind: 'special', name: hello ? 'hello' : 'auth', grant });
    }
  }

  /** A reply the front end makes itself, due after the replies already expected. */
  expectLocal(reply: LocalReply): void {
    this.queue.push(reply);
  }

  /** Takes the local reply that is due now (all replies before it were written), if any. */
  takeLocal(): LocalReply | undefined {
    const entry = this.queue[this.head];
    if (entry?.kind !== 'local') return undefined;
    this.advance();
    return entry;
  }

  /** The entry at the head is complete; drops consumed entries now and then. */
  private advance(): void {
    this.head++;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** True when the next reply due is one the front end makes. */
  get localDue(): boolean {
    return this.queue[this.head]?.kind === 'local';
  }

  /** Forgets everything (the connection closed). */
  clear(): void {
    this.queue = [];
    this.head = 0;
  }

  /** Accounts one complete top-level reply frame from redis-server. */
  frame(info: FrameInfo): void {
    const { type, head } = info;
    const entry = this.queue[this.head];
    if (
      info.count !== undefined &&
      head !== '' &&
      !head.endsWith('message') &&
      (type === T_PUSH || (type === T_ARRAY && entry?.kind === 'sub'))
    ) {
      this.onSubscribeCount(head, info.count);
      if (entry?.kind === 'sub') {
        if (entry.left < 0) {
          const current =
            head === 'punsubscribe'
              ? this.patterns
              : head === 'sunsubscribe'
                ? this.shards
                : this.channels;
          // counts already include this confirmation: one more than remain
          entry.left = Math.max(1, current + 1);
        }
        if (--entry.left <= 0) this.advance();
      }
      return;
    }
    if (type === T_PUSH || type === T_ATTR) return;
    if (
      type === T_ARRAY &&
      this.protocol === 2 &&
      head.endsWith('message') &&
      this.channels + this.patterns + this.shards > 0
    ) {
      return; // a RESP2 pub/sub message, not a reply
    }
    if (!entry || entry.kind === 'local') return;
    if (entry.kind === 'replies') {
      if (--entry.n === 0) this.advance();
      return;
    }
    this.advance();
    if (entry.kind === 'special') this.onSpecialReply(entry, info);
  }

  private onSubscribeCount(kind: string, count: number): void {
    if (kind === 'subscribe' || kind === 'unsubscribe')
      this.channels = Math.max(0, count - this.patterns);
    else if (kind === 'psubscribe' || kind === 'punsubscribe')
      this.patterns = Math.max(0, count - this.channels);
    else this.shards = Math.max(0, count);
  }

  private onSpecialReply(entry: Special, info: FrameInfo): void {
    switch (entry.name) {
      case 'auth':
      case 'hello':
        if (!info.isError && entry.name === 'hello') this.protocol = info.type === T_MAP ? 3 : 2;
        if (entry.grant) {
          if (info.isError) this.owner.refused(entry.grant);
          else this.owner.granted(entry.grant);
        }
        return;
      case 'exec': {
        const last = entry.grants?.[entry.grants.length - 1];
        if (last && info.type === T_ARRAY) this.owner.granted(last);
        return;
      }
      case 'reset':
        if (info.type === T_SIMPLE) {
          this.protocol = 2;
          this.channels = this.patterns = this.shards = 0;
          this.owner.reset();
        }
        return;
      case 'monitor':
        if (!info.isError) this.monitor = true;
        return;
    }
  }
}
