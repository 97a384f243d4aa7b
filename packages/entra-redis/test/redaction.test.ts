import { inspect } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenSource, servicePrincipalSecret, type RedisCredentials } from 'entra-redis';
import { CLIENT, FakeClock, SECRET, TID, fakeEntra } from './fakes.js';

const deep = (value: unknown): string => inspect(value, { depth: 20, getters: true });

afterEach(() => {
  vi.useRealTimers();
});

describe('no token and no secret in anything the library prints', () => {
  it('across acquisition, outage, refusal, expiry and recovery', async () => {
    const { state, options } = fakeEntra();
    const clock = new FakeClock();
    vi.useFakeTimers({ toFake: ['Date'] }); // msal computes expiries from Date: keep it in step
    clock.syncDate = (ms) => vi.setSystemTime(ms);
    clock.syncDate(clock.nowMs);
    const out: string[] = [];
    const capture = (level: string) => (message: string, fields?: Record<string, unknown>) =>
      out.push(`${level} ${message} ${deep(fields)} ${JSON.stringify(fields ?? {})}`);
    const source = new TokenSource({
      credential: servicePrincipalSecret({
        tenantId: TID,
        clientId: CLIENT,
        clientSecret: SECRET,
        ...options,
      }),
      clock,
      metrics: false,
      logger: {
        debug: capture('debug'),
        info: capture('info'),
        warn: capture('warn'),
        error: capture('error'),
      },
    });
    for (const event of ['refreshed', 'refreshFailed', 'expired', 'recovered'] as const) {
      source.on(event, (payload: unknown) => out.push(`${event} ${deep(payload)}`));
    }
    const seen: RedisCredentials[] = [];
    source.onCredentials((c) => seen.push(c));
    const printCredentials = (c: RedisCredentials): void => {
      out.push(deep(c), JSON.stringify(c), `${c}`, String(c), Object.keys(c).join(','));
      out.push(JSON.stringify({ ...c }), deep(Object.entries(c)), deep({ wrapped: c }));
      out.push(inspect(c, { showHidden: true, depth: 5 }));
    };
    const printError = (e: unknown): void => {
      out.push(String(e), (e as Error).message, (e as Error).stack ?? '', deep(e));
    };

    const first = await source.getCredentials();
    printCredentials(first);
    state.down = true;
    await clock.advance(3_000_000);
    state.down = false;
    state.refuse = true;
    await clock.advance(700_000); // past expiry (msal: 60 minutes)
    await source.getCredentials().catch(printError);
    state.refuse = false;
    await clock.advance(20_000);
    const second = await source.getCredentials();
    printCredentials(second);
    out.push(deep(source), String(source));
    await source.close();
    await source.getCredentials().catch(printError);

    expect(state.tokens.length).toBeGreaterThanOrEqual(2);
    expect(second.password).toBe(state.tokens.at(-1)); // the token is there for who asks for it
    expect(seen.length).toBe(state.tokens.length);
    const text = out.join('\n');
    expect(text).toContain('refreshFailed');
    expect(text).toContain('expired');
    expect(text).toContain('recovered');
    expect(text).toContain('invalid_client');
    for (const token of state.tokens) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(token.split('.')[1]!); // not even the payload
    }
    expect(text).not.toContain(SECRET);
  });
});

describe("a credential's own error as the cause", () => {
  const jwt = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from('{"oid":"x"}').toString('base64url')}.c2lnbmF0dXJl`;

  async function failure(thrown: unknown): Promise<{ cause?: unknown }> {
    const source = new TokenSource({
      credential: {
        getToken: async () => {
          throw thrown;
        },
      },
      metrics: false,
    });
    try {
      return (await source.getCredentials().catch((e: unknown) => e)) as { cause?: unknown };
    } finally {
      await source.close();
    }
  }

  it('is a redacted copy when printing it would show a token; the error itself otherwise', async () => {
    const quoting = Object.assign(new Error(`refused assertion ${jwt}`), {
      code: 'invalid_client',
      cause: new Error(`inner ${jwt}`),
    });
    const wrapped = await failure(quoting);
    expect(deep(wrapped)).not.toContain(jwt);
    expect(wrapped.cause).toMatchObject({
      name: 'Error',
      code: 'invalid_client',
      message: 'refused assertion [REDACTED]',
      cause: { message: 'inner [REDACTED]' },
    });
    const plain = Object.assign(new Error('AADSTS7000215: Invalid client secret'), {
      code: 'invalid_client',
    });
    expect((await failure(plain)).cause).toBe(plain);
  });
});
