// The command and reply names the front end acts on, recognised in place: the hot path makes
// no string per command or reply.

/** Commands whose reply the front end must interpret, and AUTH/HELLO, which it rewrites. */
export const TRACKED_COMMANDS = [
  'auth',
  'hello',
  'multi',
  'exec',
  'discard',
  'reset',
  'monitor',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
] as const;

/** One of {@link TRACKED_COMMANDS}, or '' for any other command. */
export type TrackedCommand = (typeof TRACKED_COMMANDS)[number] | '';

/** Element 0 of the pub/sub replies the front end counts. */
export const PUBSUB_HEADS = [
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
  'message',
  'pmessage',
  'smessage',
] as const;

/** One of {@link PUBSUB_HEADS}, or '' for anything else. */
export type PubSubHead = (typeof PUBSUB_HEADS)[number] | '';

/** Finds which of a fixed set of names `buf[start, start + length)` spells (ASCII any case). */
export type NameMatcher<T extends string> = (buf: Uint8Array, start: number, length: number) => T;

/**
 * Builds a {@link NameMatcher} for `names` (letters only), returning '' for anything else.
 * Every name is letters only, so `byte | 0x20` equals a lower-case letter exactly when the byte
 * is that letter in either case.
 *
 * @example
 * ```ts
 * const match = nameMatcher(['auth', 'exec']);
 * match(Buffer.from('AUTH'), 0, 4); // 'auth'
 * match(Buffer.from('GET'), 0, 3); // ''
 * ```
 */
export function nameMatcher<T extends string>(names: readonly T[]): NameMatcher<T | ''> {
  const byLength: { name: T; codes: number[] }[][] = [];
  for (const name of names) {
    if (!/^[a-z]+$/.test(name)) throw new TypeError(`"${name}" is not a lower-case word`);
    (byLength[name.length] ??= []).push({ name, codes: Array.from(name, (c) => c.charCodeAt(0)) });
  }
  return (buf, start, length) => {
    const candidates = byLength[length];
    if (candidates === undefined) return '';
    for (const { name, codes } of candidates) {
      let i = 0;
      while (i < length && (buf[start + i]! | 0x20) === codes[i]) i++;
      if (i === length) return name;
    }
    return '';
  };
}

/** The tracked command a command name spells, or ''. */
export const trackedCommand = nameMatcher<TrackedCommand>(TRACKED_COMMANDS);

/** The pub/sub reply kind an element 0 spells, or ''. */
export const pubSubHead = nameMatcher<PubSubHead>(PUBSUB_HEADS);
