// Reading AUTH and HELLO the way Redis 7 does, to decide what the front end does with them.

import { encodeCommand } from './resp.js';

/** What to do with an AUTH or HELLO command. */
export type AuthIntent =
  /** Check username and token, then send `rewrite(aclUser, aclPassword)` upstream. */
  | {
      kind: 'verify';
      username: string;
      password: string;
      hello: boolean;
      rewrite: (user: string, password: string) => Buffer;
    }
  /** Let redis-server answer (HELLO without AUTH, or a malformed command it will refuse). */
  | { kind: 'forward'; bytes: Buffer; hello: boolean }
  /** `AUTH <token>` without a username: refused with WRONGPASS. */
  | { kind: 'password-only' };

/** Parses `args` (args[0] is AUTH or HELLO, any case). */
export function parseAuthCommand(args: Buffer[]): AuthIntent {
  const name = args[0]!.toString('latin1').toLowerCase();
  if (name === 'auth') {
    if (args.length === 2) return { kind: 'password-only' };
    if (args.length !== 3) return { kind: 'forward', bytes: encodeCommand(args), hello: false };
    return {
      kind: 'verify',
      username: args[1]!.toString('utf8'),
      password: args[2]!.toString('utf8'),
      hello: false,
      rewrite: (user, password) => encodeCommand(['AUTH', user, password]),
    };
  }
  const forward: AuthIntent = { kind: 'forward', bytes: encodeCommand(args), hello: true };
  if (args.length < 2) return forward;
  const version = args[1]!.toString('latin1');
  if (!/^(0|-?[1-9]\d*)$/.test(version) || Number(version) < 2 || Number(version) > 3)
    return forward;
  let username: Buffer | undefined;
  let password: Buffer | undefined;
  let setName: Buffer | undefined;
  for (let j = 2; j < args.length; j++) {
    const opt = args[j]!.toString('latin1').toLowerCase();
    const more = args.length - 1 - j;
    if (opt === 'auth' && more >= 2) {
      username = args[j + 1];
      password = args[j + 2];
      j += 2;
    } else if (opt === 'setname' && more >= 1) {
      setName = args[j + 1];
      j++;
    } else {
      return forward; // Redis answers "Syntax error in HELLO option '...'"
    }
  }
  if (!username || !password) return forward;
  return {
    kind: 'verify',
    username: username.toString('utf8'),
    password: password.toString('utf8'),
    hello: true,
    rewrite: (user, pass) =>
      encodeCommand([
        'HELLO',
        version,
        'AUTH',
        user,
        pass,
        ...(setName ? ['SETNAME', setName] : []),
      ]),
  };
}
