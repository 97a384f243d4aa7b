import { describe, expect, it } from 'vitest';
import {
  BLOCKING_COMMANDS,
  TransactionTracker,
  checkTransportSecurity,
  diagnoseServerError,
  formatTimeout,
  isAzureRedisHost,
  lastGeneratedIdOf,
  mayBlock,
  parseBlockingCall,
  planBlockingSlice,
  replaceDollarIds,
} from '../src/reauth/index.js';

describe('blocking commands', () => {
  it('finds the timeout of every blocking command (seconds, first argument, BLOCK ms)', () => {
    expect(parseBlockingCall('BLPOP', ['a', 'b', '0'])).toMatchObject({
      timeoutIndex: 2,
      unit: 's',
      timeoutMs: Infinity,
    });
    expect(parseBlockingCall('brpop', ['a', 1.5])).toMatchObject({ timeoutMs: 1500 });
    expect(parseBlockingCall('brpoplpush', ['a', 'b', '2'])).toMatchObject({
      timeoutIndex: 2,
      timeoutMs: 2000,
    });
    expect(parseBlockingCall('blmove', ['a', 'b', 'LEFT', 'RIGHT', '0'])).toMatchObject({
      timeoutIndex: 4,
    });
    expect(parseBlockingCall('bzpopmin', ['z', '0.25'])).toMatchObject({ timeoutMs: 250 });
    expect(parseBlockingCall('bzpopmax', ['z', '0'])).toMatchObject({ timeoutMs: Infinity });
    expect(parseBlockingCall('blmpop', ['0', '1', 'a', 'LEFT'])).toMatchObject({
      timeoutIndex: 0,
      timeoutMs: Infinity,
    });
    expect(parseBlockingCall('bzmpop', ['3', '1', 'z', 'MIN'])).toMatchObject({
      timeoutIndex: 0,
      timeoutMs: 3000,
    });
    expect(
      parseBlockingCall('xread', ['COUNT', 1, 'BLOCK', '0', 'STREAMS', 's', '0-0']),
    ).toMatchObject({ timeoutIndex: 3, unit: 'ms', timeoutMs: Infinity });
    expect(
      parseBlockingCall('XREADGROUP', ['GROUP', 'g', 'c', 'BLOCK', 500, 'STREAMS', 's', '>']),
    ).toMatchObject({ timeoutMs: 500, dollarIds: [] });
  });

  it('ignores non-blocking calls and unparsable timeouts', () => {
    expect(parseBlockingCall('get', ['a'])).toBeUndefined();
    expect(parseBlockingCall('xread', ['STREAMS', 's', '$'])).toBeUndefined();
    expect(parseBlockingCall('xread', ['STREAMS', 'BLOCK', '$'])).toBeUndefined(); // a key named BLOCK
    expect(parseBlockingCall('blpop', ['a', 'soon'])).toBeUndefined();
    expect(parseBlockingCall('blpop', [])).toBeUndefined();
    // Names that exist on a plain object's prototype are not commands of the table.
    for (const name of ['constructor', '__proto__', 'toString', 'BconstructoR'])
      expect(parseBlockingCall(name, ['a', '0']), name).toBeUndefined();
  });

  it('pre-filters by first letter: every blocking command passes, others are turned away', () => {
    for (const name of Object.keys(BLOCKING_COMMANDS)) {
      expect(mayBlock(name), name).toBe(true);
      expect(mayBlock(name.toUpperCase()), name).toBe(true);
    }
    for (const name of ['get', 'SET', 'hgetall', 'MULTI', '', 'évalsha']) {
      expect(mayBlock(name), name).toBe(false);
    }
  });

  it('finds XREAD $ ids and replaces them with the resolved ids on re-issue', () => {
    const args = ['BLOCK', '0', 'STREAMS', 's1', 's2', '$', '5-0'];
    const call = parseBlockingCall('xread', args)!;
    expect(call.dollarIds).toEqual([{ key: 's1', idIndex: 5 }]);
    expect(replaceDollarIds(call, args, ['7-1'])).toEqual([
      'BLOCK',
      '0',
      'STREAMS',
      's1',
      's2',
      '7-1',
      '5-0',
    ]);
    expect(replaceDollarIds(call, args, [])).toEqual([
      'BLOCK',
      '0',
      'STREAMS',
      's1',
      's2',
      '0-0',
      '5-0',
    ]);
  });

  it('reads last-generated-id from XINFO STREAM replies of any shape, 0-0 for a missing stream', () => {
    expect(lastGeneratedIdOf(['length', 2, 'last-generated-id', '9-3'])).toBe('9-3');
    expect(lastGeneratedIdOf(new Map([['last-generated-id', Buffer.from('4-0')]]))).toBe('4-0');
    expect(lastGeneratedIdOf({ 'last-generated-id': '2-0' })).toBe('2-0');
    expect(lastGeneratedIdOf(new Error('ERR no such key'))).toBe('0-0');
  });

  it('cuts an infinite timeout to the token life minus the margin, and re-plans until the caller timeout', () => {
    const call = parseBlockingCall('blpop', ['q', '0'])!;
    const base = { startedAtMs: 0, expiresAtMs: 10_000, safetyMarginMs: 1_000 };
    expect(planBlockingSlice(call, ['q', '0'], { ...base, nowMs: 0 })).toEqual({
      action: 'send',
      args: ['q', '9'],
      sliceMs: 9_000,
      final: false,
    });
    expect(planBlockingSlice(call, ['q', '0'], { ...base, nowMs: 8_700 })).toEqual({
      action: 'send',
      args: ['q', '0.3'],
      sliceMs: 300,
      final: false,
    });
    expect(planBlockingSlice(call, ['q', '0'], { ...base, nowMs: 8_980 })).toEqual({
      action: 'waitForToken',
    });
    // After a new token (expiring at 20 s) the slice grows again.
    expect(
      planBlockingSlice(call, ['q', '0'], { ...base, nowMs: 9_500, expiresAtMs: 20_000 }),
    ).toMatchObject({ args: ['q', '9.5'] });
  });

  it('passes a timeout that fits, and finishes with the remaining caller timeout', () => {
    const call = parseBlockingCall('brpop', ['q', '5'])!;
    expect(
      planBlockingSlice(call, ['q', '5'], {
        startedAtMs: 0,
        nowMs: 0,
        expiresAtMs: 60_000,
        safetyMarginMs: 1_000,
      }),
    ).toEqual({ action: 'send', args: ['q', '5'], sliceMs: 5_000, final: true });
    // Token expires at 4 s: first slice 3 s, then the remaining 2 s after the refresh.
    expect(
      planBlockingSlice(call, ['q', '5'], {
        startedAtMs: 0,
        nowMs: 0,
        expiresAtMs: 4_000,
        safetyMarginMs: 1_000,
      }),
    ).toMatchObject({ args: ['q', '3'], final: false });
    expect(
      planBlockingSlice(call, ['q', '5'], {
        startedAtMs: 0,
        nowMs: 3_000,
        expiresAtMs: 60_000,
        safetyMarginMs: 1_000,
      }),
    ).toMatchObject({ args: ['q', '2'], final: true });
    expect(
      planBlockingSlice(call, ['q', '5'], {
        startedAtMs: 0,
        nowMs: 5_000,
        expiresAtMs: 60_000,
        safetyMarginMs: 1_000,
      }),
    ).toEqual({ action: 'timedOut' });
  });

  it('cuts XREAD BLOCK in milliseconds and BLMPOP in its first argument', () => {
    const x = ['BLOCK', 0, 'STREAMS', 's', '1-0'];
    expect(
      planBlockingSlice(parseBlockingCall('xread', x)!, x, {
        startedAtMs: 0,
        nowMs: 0,
        expiresAtMs: 3_500,
        safetyMarginMs: 1_000,
      }),
    ).toMatchObject({ args: ['BLOCK', '2500', 'STREAMS', 's', '1-0'] });
    const m = ['0', '1', 'q', 'LEFT'];
    expect(
      planBlockingSlice(parseBlockingCall('blmpop', m)!, m, {
        startedAtMs: 0,
        nowMs: 0,
        expiresAtMs: 3_500,
        safetyMarginMs: 1_000,
      }),
    ).toMatchObject({ args: ['2.5', '1', 'q', 'LEFT'] });
  });

  it('never formats a cut timeout as 0 (which would block forever)', () => {
    expect(formatTimeout('s', 0.4)).toBe('0.001');
    expect(formatTimeout('ms', 0.4)).toBe('1');
    expect(formatTimeout('s', 1234.9)).toBe('1.234');
  });
});

describe('TransactionTracker', () => {
  it('is in a transaction between MULTI and EXEC/DISCARD/RESET or a lost connection, and reports the end', () => {
    let ends = 0;
    const tx = new TransactionTracker({ transactionEnded: () => void ends++ });
    expect(tx.inTransaction).toBe(false);
    tx.onCommandWritten('MULTI');
    tx.onCommandWritten('set');
    expect(tx.inTransaction).toBe(true);
    tx.onCommandWritten('multi'); // nested: refused by Redis, still inside
    expect(tx.inTransaction).toBe(true);
    tx.onCommandWritten('EXEC');
    expect([tx.inTransaction, ends]).toEqual([false, 1]);
    for (const end of ['discard', 'RESET']) {
      tx.onCommandWritten('multi');
      tx.onCommandWritten(end);
    }
    tx.onCommandWritten('multi');
    tx.onConnectionLost();
    expect([tx.inTransaction, ends]).toEqual([false, 4]);
    tx.onCommandWritten('exec'); // EXEC without MULTI: nothing to end
    tx.onCommandWritten('watch');
    expect(ends).toBe(4);
    for (const start of ['Multi', 'mUlTi']) {
      tx.onCommandWritten(start);
      expect(tx.inTransaction, start).toBe(true);
      for (const other of ['exe', 'execs', 'discards', 'resets', 'get', 'hsetnx']) {
        tx.onCommandWritten(other);
      }
      expect(tx.inTransaction, start).toBe(true);
      tx.onCommandWritten('Discard');
    }
    expect([tx.inTransaction, ends]).toEqual([false, 6]);
  });
});

describe('Azure hosts and TLS', () => {
  it('recognises Azure Redis hosts in every cloud', () => {
    for (const host of [
      'contoso.redis.cache.windows.net',
      'contoso.privatelink.redis.cache.windows.net',
      'contoso.westeurope.redis.azure.net',
      'contoso.westeurope.redisenterprise.cache.azure.net',
      'contoso.redis.cache.chinacloudapi.cn',
      'CONTOSO.redis.cache.usgovcloudapi.net.',
    ]) {
      expect(isAzureRedisHost(host), host).toBe(true);
    }
    for (const host of [
      'localhost',
      '127.0.0.1',
      'redis.cache.windows.net',
      'evil-redis.cache.windows.net.example.com',
      undefined,
    ]) {
      expect(isAzureRedisHost(host), String(host)).toBe(false);
    }
  });

  it('refuses plaintext to Azure unless allowInsecureConnection, naming the option and the TLS port', () => {
    const host = 'contoso.redis.cache.windows.net';
    expect(() => checkTransportSecurity({ host, port: 6379, tls: false })).toThrow(
      expect.objectContaining({
        code: 'INSECURE_CONNECTION',
        message: expect.stringMatching(/allowInsecureConnection.*|6380/),
      }),
    );
    expect(() =>
      checkTransportSecurity({ host, port: 6379, tls: false, allowInsecureConnection: true }),
    ).not.toThrow();
    expect(() => checkTransportSecurity({ host, port: 6380, tls: true })).not.toThrow();
    expect(() =>
      checkTransportSecurity({ host: 'localhost', port: 6379, tls: false }),
    ).not.toThrow();
  });
});

describe('diagnoseServerError', () => {
  const oid = '11111111-2222-3333-4444-555555555555';
  it('WRONGPASS: AUTH_REFUSED naming the oid and the three likely fixes', () => {
    const e = diagnoseServerError(new Error('WRONGPASS invalid username-password pair'), {
      oid,
      username: oid,
    })!;
    expect(e.code).toBe('AUTH_REFUSED');
    expect(e.message).toContain(oid);
    expect(e.message).toMatch(/data access policy/);
    expect(e.message).toMatch(/username must be the token's oid/);
    expect(e.message).toMatch(/https:\/\/redis\.azure\.com\/\.default/);
    expect(e.cause).toBeInstanceOf(Error);
  });
  it('WRONGPASS with a username that is not the oid says so', () => {
    expect(diagnoseServerError('WRONGPASS x', { oid, username: 'alice' })!.message).toMatch(
      /"alice"\) is not the token's oid/,
    );
  });
  it('NOPERM: PERMISSION_DENIED with the command and the policies to assign; message still starts with NOPERM', () => {
    const e = diagnoseServerError(
      new Error("NOPERM User x has no permissions to run the 'set' command"),
      { oid, command: 'set' },
    )!;
    expect(e.code).toBe('PERMISSION_DENIED');
    expect(e.message).toMatch(/^NOPERM/);
    expect(e.message).toMatch(/"SET"/);
    expect(e.message).toMatch(/Data Contributor/);
    // Without the command in the context, the one Redis names.
    const named = diagnoseServerError(
      new Error("NOPERM User x has no permissions to run the 'hset' command"),
      { oid },
    )!;
    expect(named.message).toMatch(/command "HSET"/);
    const key = diagnoseServerError(new Error('NOPERM No permissions to access a key'), { oid })!;
    expect(key.code).toBe('PERMISSION_DENIED');
    expect(key.message).toMatch(/does not allow the command\. /);
  });
  it('leaves other errors alone', () => {
    expect(diagnoseServerError(new Error('ERR wrong number of arguments'))).toBeUndefined();
    expect(diagnoseServerError(undefined)).toBeUndefined();
  });
});
