import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// `npm test` builds the packages first (scripts/ensure-ready.mjs), so every path in each
// package's `exports` map must exist: a typo here breaks every user of the package.
const packages = ['entra-redis', 'emulator'];

function collectPaths(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value && typeof value === 'object')
    for (const v of Object.values(value)) collectPaths(v, out);
  return out;
}

describe.each(packages)('package %s', (name) => {
  const dir = fileURLToPath(new URL(`../../${name}/`, import.meta.url));
  const manifest = JSON.parse(readFileSync(`${dir}package.json`, 'utf8')) as {
    exports: Record<string, unknown>;
    bin?: Record<string, string>;
  };

  it('maps every export to a built file, with types for ESM and CJS', () => {
    const paths = collectPaths(manifest.exports);
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) expect(existsSync(`${dir}${path}`), path).toBe(true);
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      if (subpath === './package.json') continue;
      expect(target, subpath).toMatchObject({
        import: { types: expect.any(String), default: expect.any(String) },
        require: { types: expect.any(String), default: expect.any(String) },
      });
    }
  });

  it('ships every bin as an executable script with a shebang', () => {
    for (const path of Object.values(manifest.bin ?? {})) {
      expect(readFileSync(`${dir}${path}`, 'utf8').split('\n')[0]).toBe(
        '#!/usr/bin/env -S node --',
      );
    }
  });
});
