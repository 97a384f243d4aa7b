// Issue 21: every error code has its troubleshooting entry, and every error message points to
// it. The page ships in the package (entra-redis/docs/troubleshooting.md), copied at build.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ENTRA_REDIS_ERROR_CODES, EntraRedisError } from 'entra-redis';
import { describe, expect, it } from 'vitest';

const page = (path: string): string =>
  readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8');
const ROOT_PAGE = '../../../docs/troubleshooting.md';
const PACKAGE_PAGE = '../docs/troubleshooting.md';

/** GitHub's anchor of a heading: lower case, punctuation but - and _ dropped, spaces to -. */
const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

describe('docs/troubleshooting.md', () => {
  const headings = page(ROOT_PAGE)
    .split('\n')
    .filter((line) => line.startsWith('## '))
    .map((line) => line.slice(3));

  it.each(ENTRA_REDIS_ERROR_CODES)('%s has an entry, and its errors point to it', (code) => {
    expect(headings).toContain(code);
    const message = new EntraRedisError(code, 'something is wrong; do this').message;
    const anchor = /see entra-redis\/docs\/troubleshooting\.md#([\w-]+)\.$/.exec(message)?.[1];
    expect(message.startsWith('something is wrong; do this. To troubleshoot, see ')).toBe(true);
    expect(anchor).toBe(slug(code));
  });

  it('ships in the package as built', () => {
    expect(existsSync(fileURLToPath(new URL(PACKAGE_PAGE, import.meta.url)))).toBe(true);
    expect(page(PACKAGE_PAGE)).toBe(page(ROOT_PAGE));
  });
});
