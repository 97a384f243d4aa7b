// Incremental parser of client requests (RESP arrays of bulk strings, and inline commands).
// Ordinary commands are forwarded as raw byte slices as soon as their name is known; only
// AUTH and HELLO are collected (they are rewritten). Limits and error texts follow Redis 7.

import { trackedCommand, type TrackedCommand } from './command-names.js';
import { indexOfByte, splitInlineArgs } from './resp.js';

const CR = 13;
const LF = 10;
/** Redis PROTO_INLINE_MAX_SIZE: longest header or inline line. */
export const MAX_LINE_BYTES = 64 * 1024;
/** Redis proto-max-bulk-len default. */
export const MAX_BULK_BYTES = 512 * 1024 * 1024;
/** Largest accepted array length (Redis accepts up to INT_MAX; 16M arguments is plenty). */
export const MAX_ARGS = 16 * 1024 * 1024;
const UNAUTH_MAX_ARGS = 10;
const UNAUTH_MAX_BULK_BYTES = 16 * 1024;
const MAX_COLLECTED_BYTES = 1024 * 1024;
const NAME_MAX_BYTES = 32;

/** Where the parser sends what it finds. */
export interface RequestSink {
  /** Raw bytes of ordinary commands, in order. */
  forward(bytes: Buffer): void;
  /** An ordinary command was completely forwarded (`name` is '' unless the front end tracks it). */
  command(name: TrackedCommand, argc: number): void;
  /** AUTH or HELLO arrived (not forwarded). Return true to pause until `resume()`. */
  collected(args: Buffer[]): boolean;
  /** The input is not valid RESP; `message` is Redis's text after "Protocol error: ". */
  protocolError(message: string): void;
  /** Whether Redis would consider the connection authenticated (for the pre-auth limits). */
  authenticated(): boolean;
}

/** Like Redis string2ll: optional '-', digits, no '+', no spaces, no leading zeros. */
export function parseLength(buf: Buffer, start: number, end: number): number {
  if (end <= start || end - start > 18) return NaN;
  let i = start;
  const negative = buf[i] === 45;
  if (negative && ++i === end) return NaN;
  if (buf[i] === 48 && end - i > 1) return NaN;
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return negative ? (n === 0 ? NaN : -n) : n;
}

const UNDECIDED = 0;
const STREAM = 1;
const COLLECT = 2;

/**
 * Streaming request parser for one client connection. The hot path allocates nothing per
 * command: names are matched in place and ordinary commands are forwarded as one slice per
 * received chunk.
 *
 * @example
 * ```ts
 * const parser = new RequestParser(sink);
 * socket.on('data', (chunk) => parser.push(chunk));
 * ```
 */
export class RequestParser {
  private buf: Buffer | null = null;
  private resumeAt = 0;
  private inCmd = false;
  /** UNDECIDED until the command name is known, then STREAM (forward) or COLLECT (AUTH/HELLO). */
  private mode = UNDECIDED;
  private argc = 0;
  private argsLeft = 0;
  private name: TrackedCommand = '';
  private args: Buffer[] = [];
  private collectedBytes = 0;
  private skip = 0;
  private paused = false;
  private dead = false;
  /** Start of the command being parsed, in the buffer `run` works on. */
  private cmdStart = 0;
  /** Bytes before this offset have been forwarded (or collected). */
  private fwdFrom = 0;

  constructor(private readonly sink: RequestSink) {}

  /** Feeds bytes from the client. */
  push(chunk: Buffer): void {
    if (this.dead) return;
    this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    if (!this.paused) this.run();
  }

  /** Continues after `collected()` returned true. */
  resume(): void {
    if (!this.paused || this.dead) return;
    this.paused = false;
    this.run();
  }

  /** Stops parsing for good. */
  kill(): void {
    this.dead = true;
    this.buf = null;
  }

  private flush(buf: Buffer, end: number): void {
    if (end <= this.fwdFrom) return;
    this.sink.forward(buf.subarray(this.fwdFrom, end));
    this.fwdFrom = end;
  }

  private fail(buf: Buffer, pos: number, message: string): void {
    if (!this.inCmd || this.mode === STREAM) this.flush(buf, pos);
    else if (this.mode === UNDECIDED) this.flush(buf, this.cmdStart);
    this.dead = true;
    this.sink.protocolError(message);
  }

  /** One argument ended at `pos`. */
  private argDone(pos: number): void {
    if (--this.argsLeft > 0) return;
    this.inCmd = false;
    if (this.mode === COLLECT) {
      this.fwdFrom = pos;
      const args = this.args;
      this.args = [];
      if (this.sink.collected(args)) this.paused = true;
    } else {
      this.sink.command(this.name, this.argc);
    }
  }

  /** Parses an inline command line ending with the LF at `nl`; returns false on error. */
  private inline(buf: Buffer, pos: number, nl: number): boolean {
    const end = nl > pos && buf[nl - 1] === CR ? nl - 1 : nl;
    const args = splitInlineArgs(buf.subarray(pos, end));
    if (!args) {
      this.fail(buf, pos, 'unbalanced quotes in request');
      return false;
    }
    if (args.length === 0) return true;
    const name = trackedCommand(args[0]!, 0, args[0]!.length);
    if (name === 'auth' || name === 'hello') {
      this.flush(buf, pos);
      this.fwdFrom = nl + 1;
      if (this.sink.collected(args)) this.paused = true;
      return true;
    }
    this.sink.command(name, args.length);
    return true;
  }

  private run(): void {
    const buf = this.buf;
    if (!buf) return;
    this.buf = null;
    const len = buf.length;
    let pos = this.resumeAt;
    this.resumeAt = 0;
    this.cmdStart = 0;
    this.fwdFrom = 0;

    while (!this.paused && !this.dead) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, len - pos);
        pos += n;
        this.skip -= n;
        if (this.skip > 0) break;
        this.argDone(pos);
        continue;
      }
      if (pos >= len) break;
      if (!this.inCmd) {
        if (buf[pos] === 42) {
          const cr = indexOfByte(buf, CR, pos);
          if (cr < 0 || cr + 1 >= len) {
            if (len - pos > MAX_LINE_BYTES) this.fail(buf, pos, 'too big mbulk count string');
            break;
          }
          const n = parseLength(buf, pos + 1, cr);
          if (Number.isNaN(n) || n > MAX_ARGS) {
            this.fail(buf, pos, 'invalid multibulk length');
            break;
          }
          if (n > UNAUTH_MAX_ARGS && !this.sink.authenticated()) {
            this.fail(buf, pos, 'unauthenticated multibulk length');
            break;
          }
          this.cmdStart = pos;
          pos = cr + 2;
          if (n <= 0) continue; // Redis ignores empty arrays; the bytes are forwarded harmlessly.
          this.inCmd = true;
          this.mode = UNDECIDED;
          this.argc = n;
          this.argsLeft = n;
          this.name = '';
          this.collectedBytes = 0;
          continue;
        }
        const nl = indexOfByte(buf, LF, pos);
        if (nl < 0) {
          if (len - pos > MAX_LINE_BYTES) this.fail(buf, pos, 'too big inline request');
          break;
        }
        if (!this.inline(buf, pos, nl)) break;
        pos = nl + 1;
        continue;
      }
      // Inside an array: expect "$<len>\r\n".
      if (buf[pos] !== 36) {
        this.fail(buf, pos, `expected '$', got '${String.fromCharCode(buf[pos]!)}'`);
        break;
      }
      const cr = indexOfByte(buf, CR, pos);
      if (cr < 0 || cr + 1 >= len) {
        if (len - pos > MAX_LINE_BYTES) this.fail(buf, pos, 'too big bulk count string');
        break;
      }
      const n = parseLength(buf, pos + 1, cr);
      if (Number.isNaN(n) || n < 0 || n > MAX_BULK_BYTES) {
        this.fail(buf, pos, 'invalid bulk length');
        break;
      }
      if (n > UNAUTH_MAX_BULK_BYTES && !this.sink.authenticated()) {
        this.fail(buf, pos, 'unauthenticated bulk length');
        break;
      }
      const payloadStart = cr + 2;
      if (this.mode === STREAM || (this.mode === UNDECIDED && n > NAME_MAX_BYTES)) {
        this.mode = STREAM;
        pos = payloadStart;
        this.skip = n + 2;
        continue;
      }
      if (this.mode === COLLECT && this.collectedBytes + n > MAX_COLLECTED_BYTES) {
        this.fail(buf, pos, 'AUTH or HELLO request too large');
        break;
      }
      if (payloadStart + n + 2 > len) break;
      pos = payloadStart + n + 2;
      if (this.mode === UNDECIDED) {
        this.name = trackedCommand(buf, payloadStart, n);
        if (this.name === 'auth' || this.name === 'hello') {
          this.mode = COLLECT;
          this.flush(buf, this.cmdStart);
          this.fwdFrom = pos;
          this.args = [Buffer.from(buf.subarray(payloadStart, payloadStart + n))];
        } else {
          this.mode = STREAM;
        }
      } else {
        this.args.push(Buffer.from(buf.subarray(payloadStart, payloadStart + n)));
        this.collectedBytes += n;
        this.fwdFrom = pos;
      }
      this.argDone(pos);
    }

    if (this.dead) return;
    // Keep what could not be parsed yet; forward what was decided.
    let carryFrom = pos;
    if (this.inCmd && this.mode === UNDECIDED) {
      carryFrom = this.cmdStart;
      this.resumeAt = pos - this.cmdStart;
    }
    if (!(this.inCmd && this.mode === COLLECT)) this.flush(buf, Math.min(carryFrom, pos));
    if (carryFrom < len) {
      this.buf = this.paused ? buf.subarray(carryFrom) : Buffer.from(buf.subarray(carryFrom));
    }
  }
}
