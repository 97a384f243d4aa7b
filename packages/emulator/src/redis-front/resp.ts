// Small RESP encoding helpers and Redis's inline-command splitter.

const CRLF = '\r\n';

/** Encodes a command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}${CRLF}`)];
  for (const arg of args) {
    const b = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${b.length}${CRLF}`), b, Buffer.from(CRLF));
  }
  return Buffer.concat(parts);
}

/** Encodes a RESP simple error (`-...\r\n`); `message` must not contain CR or LF. */
export function encodeError(message: string): Buffer {
  return Buffer.from(`-${message.replace(/[\r\n]+/g, ' ')}${CRLF}`);
}

/**
 * Index of `byte` in `buf` at or after `from`, or -1. A plain loop: RESP lines are short, and
 * `Buffer#indexOf` crosses into C++ on every call (it dominated the front end's parse cost).
 */
export function indexOfByte(buf: Uint8Array, byte: number, from: number): number {
  for (let i = from, n = buf.length; i < n; i++) if (buf[i] === byte) return i;
  return -1;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9 || c === 11 || c === 12;
}

const ESCAPES: Record<number, number> = { 110: 10, 114: 13, 116: 9, 98: 8, 97: 7 };

/**
 * Splits an inline command line like Redis's `sdssplitargs`: spaces separate arguments,
 * double quotes support `\n \r \t \b \a \xHH` and `\\`, single quotes support `\'`.
 * Returns `null` on unbalanced quotes (Redis: "Protocol error: unbalanced quotes in request").
 */
export function splitInlineArgs(line: Buffer): Buffer[] | null {
  const out: Buffer[] = [];
  let p = 0;
  const n = line.length;
  for (;;) {
    while (p < n && isSpace(line[p]!)) p++;
    if (p >= n) return out;
    const cur: number[] = [];
    let inq = false;
    let insq = false;
    for (;;) {
      const c = p < n ? line[p]! : -1;
      if (inq) {
        if (c === -1) return null;
        if (
          c === 92 &&
          p + 3 < n &&
          line[p + 1] === 120 &&
          isHex(line[p + 2]!) &&
          isHex(line[p + 3]!)
        ) {
          cur.push(parseInt(String.fromCharCode(line[p + 2]!, line[p + 3]!), 16));
          p += 3;
        } else if (c === 92 && p + 1 < n) {
          p++;
          const e = line[p]!;
          cur.push(ESCAPES[e] ?? e);
        } else if (c === 34) {
          if (p + 1 < n && !isSpace(line[p + 1]!)) return null;
          p++;
          break;
        } else {
          cur.push(c);
        }
      } else if (insq) {
        if (c === -1) return null;
        if (c === 92 && p + 1 < n && line[p + 1] === 39) {
          p++;
          cur.push(39);
        } else if (c === 39) {
          if (p + 1 < n && !isSpace(line[p + 1]!)) return null;
          p++;
          break;
        } else {
          cur.push(c);
        }
      } else if (c === -1 || isSpace(c)) {
        break;
      } else if (c === 34) {
        inq = true;
      } else if (c === 39) {
        insq = true;
      } else {
        cur.push(c);
      }
      p++;
    }
    out.push(Buffer.from(cur));
  }
}
