// Pure parts of the `entra-redis` CLI: durations, reading CLUSTER SLOTS, the command a prompted
// run prints, and how watch events read.
import { describe, expect, it } from 'vitest';
import { describeMs, parseDuration } from '../src/cli/durations.js';
import { equivalentCommand } from '../src/cli/prompts.js';
import { parseReply, type RespReply } from '../src/cli/resp.js';
import { describeCluster, describeRole, parseClusterSlots } from '../src/cli/topology.js';
import { formatWatchEvent, watchSummaryText } from '../src/cli/watch-view.js';

function reply(resp: string): RespReply {
  const parsed = parseReply(Buffer.from(resp.replace(/\n/g, '\r\n')), 0);
  if (!parsed) throw new Error('incomplete RESP');
  return parsed.reply;
}

const bulk = (s: string) => `$${Buffer.byteLength(s)}\n${s}\n`;
const node = (ip: string, port: number, id: string) => `*3\n${bulk(ip)}:${port}\n${bulk(id)}`;

describe('durations', () => {
  const bounds = { minMs: 1_000, maxMs: 86_400_000 };
  it.each([
    ['30s', 30_000],
    ['90m', 5_400_000],
    ['1h30m', 5_400_000],
    ['1500ms', 1_500],
    ['45', 45_000],
    ['2.5m', 150_000],
    [' 10S ', 10_000],
    ['1h 30m', 5_400_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration('--watch', text, bounds)).toBe(ms);
  });

  it.each(['', 'm', '5 minutes', '1h-30m', '-5s', '10x', '1.s'])('"%s" is refused', (text) => {
    expect(() => parseDuration('--watch', text, bounds)).toThrow(
      /--watch must be a duration such as 30s, 90m or 1h30m/,
    );
  });

  it('refuses durations out of bounds, naming them', () => {
    expect(() => parseDuration('--refresh-every', '500ms', bounds)).toThrow(
      /--refresh-every must be between 1s and 24h \(got "500ms"\)/,
    );
  });

  it('prints durations the way the flags take them', () => {
    expect([999, 1_000, 90_000, 5_400_000, 3_723_000].map(describeMs)).toEqual([
      '999ms',
      '1s',
      '1m 30s',
      '1h 30m',
      '1h 2m 3s',
    ]);
  });
});

describe('CLUSTER SLOTS', () => {
  const a = 'a'.repeat(40);
  const b = 'b'.repeat(40);
  const ra = 'c'.repeat(40);
  const rb = 'd'.repeat(40);
  // Node B serves two ranges (after a migration); its replica announces no address ("?").
  const slots = reply(
    `*3\n` +
      `*4\n:0\n:5460\n${node('10.0.0.4', 8500, a)}${node('10.0.0.6', 8502, ra)}` +
      `*4\n:5461\n:16000\n${node('10.0.0.5', 8501, b)}${node('?', 8503, rb)}` +
      `*4\n:16001\n:16383\n${node('10.0.0.5', 8501, b)}${node('?', 8503, rb)}`,
  );

  it('lists primaries by slot, then their replicas; an unknown address is the seed host', () => {
    const nodes = parseClusterSlots(slots, '10.0.0.9');
    expect(nodes.map((n) => [n.endpoint, n.role, describeRole(n)])).toEqual([
      ['10.0.0.4:8500', 'primary', 'primary, slots 0-5460'],
      ['10.0.0.5:8501', 'primary', 'primary, slots 5461-16000,16001-16383'],
      ['10.0.0.6:8502', 'replica', 'replica of 10.0.0.4:8500'],
      ['10.0.0.9:8503', 'replica', 'replica of 10.0.0.5:8501'],
    ]);
    expect(describeCluster(nodes)).toBe('2 primaries, 2 replicas');
  });

  it('refuses a reply that is not CLUSTER SLOTS', () => {
    expect(() => parseClusterSlots(reply('+OK\n'), 'h')).toThrow(/not an array/);
    expect(() => parseClusterSlots(reply('*1\n*2\n:0\n:10\n'), 'h')).toThrow(/no node/);
    expect(() => parseClusterSlots(reply(`*1\n*3\n:0\n:10\n*1\n${bulk('x')}`), 'h')).toThrow(
      /no port/,
    );
  });
});

describe('prompted runs print the same check as flags', () => {
  it('names every answer but the secret, which becomes --secret-env', () => {
    expect(
      equivalentCommand(
        { host: 'contoso.redis.cache.windows.net', port: '6380' },
        {
          auth: 'service-principal',
          tenantId: 'contoso.onmicrosoft.com',
          clientId: '11111111-2222-4333-8444-555555555555',
          typedSecret: 'S3cret value!',
        },
      ),
    ).toBe(
      'entra-redis check --host contoso.redis.cache.windows.net --port 6380 --auth service-principal ' +
        '--tenant-id contoso.onmicrosoft.com --client-id 11111111-2222-4333-8444-555555555555 ' +
        '--secret-env <VAR>  (VAR: an environment variable holding the secret)',
    );
    expect(
      equivalentCommand(
        { host: 'h.redis.azure.net' },
        {
          auth: 'service-principal',
          tenantId: 't.example',
          clientId: 'c',
          certificate: "/my certs/it's.pem",
        },
      ),
    ).toBe(
      'entra-redis check --host h.redis.azure.net --auth service-principal --tenant-id t.example ' +
        "--client-id c --certificate '/my certs/it'\\''s.pem'",
    );
  });
});

describe('watch output', () => {
  it('prints a refused re-AUTH with its diagnosis and fix', () => {
    const text = formatWatchEvent({
      at: '2026-01-01T10:00:00.000Z',
      kind: 'failure',
      what: 'reauth',
      endpoint: '10.0.0.4:8500',
      detail: 'WRONGPASS invalid username-password pair',
      diagnosis: 'no data access policy assignment',
      fix: 'assign one',
    });
    expect(text).toMatch(
      /^ {2}\d\d:\d\d:\d\d {2}FAIL re-AUTH +10\.0\.0\.4:8500 {2}WRONGPASS invalid username-password pair\n {8}diagnosis: no data access policy assignment\n {8}fix: assign one$/,
    );
  });

  it('says when no new token arrived, and when fewer than --refresh-every asks', () => {
    const base = { reauths: 0, pings: 6, failures: 0, endedBy: 'duration' as const, events: [] };
    expect(watchSummaryText({ ...base, refreshes: 0, durationMs: 30_000 }, 1, undefined)).toMatch(
      /no re-AUTH was tested: .*--refresh-every 1m\.\nNo failures\.\n$/,
    );
    expect(watchSummaryText({ ...base, refreshes: 1, durationMs: 300_000 }, 1, 60_000)).toMatch(
      /Fewer new tokens than --refresh-every 1m asks: the identity probably handed back a token it had cached/,
    );
  });
});
