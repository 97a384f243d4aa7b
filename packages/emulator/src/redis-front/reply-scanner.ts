// Incremental scanner of RESP2/RESP3 replies coming from redis-server. It never copies reply
// payloads: it only finds where each top-level frame ends and keeps what the front end needs
// to classify it (type, element 0 when it names a pub/sub reply, element 2 when an integer).

import { pubSubHead, type PubSubHead } from './command-names.js';
import { indexOfByte } from './resp.js';

const CR = 13;
const MAX_HEADER_BYTES = 64;
const HEAD_MAX_BYTES = 32;

/** What the front end needs to know about one complete top-level reply frame. */
export interface FrameInfo {
  /** First byte of the frame: `*`, `>`, `+`, `-`, `%`, ... */
  type: number;
  /** True for `-` and `!` (error) frames. */
  isError: boolean;
  /** Element 0 of a top-level aggregate when it names a pub/sub reply, else ''. */
  head: PubSubHead;
  /** Element 2 of a top-level aggregate when it is an integer (subscribe counts). */
  count?: number;
}

/** Thrown for bytes from redis-server that are not RESP; the connection must be dropped. */
export class ReplyFormatError extends Error {
  override readonly name = 'ReplyFormatError';
}

function parseIntStrict(buf: Buffer, start: number, end: number): number {
  if (end <= start || end - start > 18) return NaN;
  let i = start;
  const negative = buf[i] === 45;
  if (negative && ++i === end) return NaN;
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

function kindOf(type: number): number {
  switch (type) {
    case 43:
    case 45:
    case 58:
    case 95:
    case 44:
    case 35:
    case 40: // + - : _ , # (
      return 1;
    case 36:
    case 61:
    case 33: // $ = !
      return 2;
    case 42:
    case 126:
    case 62: // * ~ >
      return 3;
    case 37:
    case 124: // % |
      return 4;
    default:
      return 0;
  }
}

/** Receives the frames a {@link ReplyScanner} finds. */
export interface FrameSink {
  /**
   * A top-level frame ended at `end` (offset in the chunk being scanned). `info` is reused:
   * read it inside the call only.
   */
  frame(end: number, info: FrameInfo): void;
}

/**
 * Finds top-level frame boundaries in a stream of reply bytes. No closure or object is created
 * per frame or per chunk (the scan runs once per reply chunk on the front end's hot path).
 *
 * @example
 * ```ts
 * const scanner = new ReplyScanner({ frame: (end, info) => console.log(end, info.type) });
 * scanner.scan(Buffer.from('+OK\r\n:1\r\n'));
 * ```
 */
export class ReplyScanner {
  private carry: Buffer | null = null;
  private skipLine = false;
  private skipBytes = 0;
  private readonly stack: number[] = [];
  private topTotal = 0;
  private inFrame = false;
  /** Offset of the current chunk within the buffer being scanned (carried bytes before it). */
  private base = 0;
  private readonly info: FrameInfo = { type: 0, isError: false, head: '' };
  /** Set to stop scanning (the caller forwards the rest verbatim). */
  stopped = false;

  constructor(private readonly sink: FrameSink) {}

  /** True while the bytes seen so far end inside a frame. */
  get midFrame(): boolean {
    return this.inFrame || this.carry !== null;
  }

  /** One element ended at `end`; reports the frame when it was the top-level one. */
  private done(end: number): void {
    const stack = this.stack;
    for (;;) {
      if (stack.length === 0) {
        this.inFrame = false;
        this.sink.frame(end - this.base, this.info);
        return;
      }
      const top = stack.length - 1;
      if (--stack[top]! > 0) return;
      stack.pop();
    }
  }

  /** Scans `chunk`, calling the sink's `frame` for each completed top-level frame. */
  scan(chunk: Buffer): void {
    let buf = chunk;
    this.base = 0;
    if (this.carry) {
      this.base = this.carry.length;
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    let pos = 0;
    const len = buf.length;
    while (pos < len && !this.stopped) {
      if (this.skipBytes > 0) {
        const n = Math.min(this.skipBytes, len - pos);
        pos += n;
        this.skipBytes -= n;
        if (this.skipBytes === 0) this.done(pos);
        continue;
      }
      if (this.skipLine) {
        const nl = indexOfByte(buf, 10, pos);
        if (nl < 0) return;
        this.skipLine = false;
        pos = nl + 1;
        this.done(pos);
        continue;
      }
      const type = buf[pos]!;
      const kind = kindOf(type);
      const depth = this.stack.length;
      const index = depth === 1 ? this.topTotal - this.stack[0]! : -1;
      if (depth === 0) {
        this.inFrame = true;
        const info = this.info;
        info.type = type;
        info.isError = type === 45 || type === 33;
        info.head = '';
        info.count = undefined;
      }
      if (kind === 1) {
        const wantHead = index === 0 && type === 43;
        const wantCount = index === 2 && type === 58;
        if (!wantHead && !wantCount) {
          this.skipLine = true;
          pos++;
          continue;
        }
        const cr = indexOfByte(buf, CR, pos);
        if (cr < 0 || cr + 1 >= len) {
          if (len - pos > MAX_HEADER_BYTES) {
            this.skipLine = true;
            pos++;
            continue;
          }
          this.carry = Buffer.from(buf.subarray(pos));
          return;
        }
        if (wantHead && cr - pos - 1 <= HEAD_MAX_BYTES) {
          this.info.head = pubSubHead(buf, pos + 1, cr - pos - 1);
        } else if (wantCount) {
          const n = parseIntStrict(buf, pos + 1, cr);
          if (!Number.isNaN(n)) this.info.count = n;
        }
        pos = cr + 2;
        this.done(pos);
        continue;
      }
      if (kind === 0) {
        throw new ReplyFormatError(`unexpected reply type byte ${type}`);
      }
      const cr = indexOfByte(buf, CR, pos);
      if (cr < 0 || cr + 1 >= len) {
        if (len - pos > MAX_HEADER_BYTES) throw new ReplyFormatError('reply header too long');
        if (depth === 0) this.inFrame = false;
        this.carry = Buffer.from(buf.subarray(pos));
        return;
      }
      const n = parseIntStrict(buf, pos + 1, cr);
      if (Number.isNaN(n) || n < -1) throw new ReplyFormatError('invalid reply length');
      const afterHeader = cr + 2;
      if (kind === 2) {
        if (n === -1) {
          pos = afterHeader;
          this.done(pos);
          continue;
        }
        if (index === 0 && n <= HEAD_MAX_BYTES && type === 36) {
          if (afterHeader + n + 2 > len) {
            if (depth === 0) this.inFrame = false;
            this.carry = Buffer.from(buf.subarray(pos));
            return;
          }
          this.info.head = pubSubHead(buf, afterHeader, n);
          pos = afterHeader + n + 2;
          this.done(pos);
          continue;
        }
        pos = afterHeader;
        this.skipBytes = n + 2;
        continue;
      }
      pos = afterHeader;
      const elements = kind === 4 ? n * 2 : n;
      if (elements <= 0) {
        this.done(pos);
        continue;
      }
      if (depth === 0) this.topTotal = elements;
      this.stack.push(elements);
    }
  }
}
