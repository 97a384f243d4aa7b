// Patching loaded client libraries: once per object and name, whoever else wraps them
// (OpenTelemetry's instrumentations wrap the same methods), and never twice when the same copy
// is seen through both require() and import.

/** Names of the members this preload patched, on the patched object itself. */
const PATCHED = Symbol.for('entra-redis.register.patched');

function markPatched(target: object, name: string): boolean {
  const holder = target as { [PATCHED]?: Set<string> };
  if (!Object.hasOwn(holder, PATCHED)) {
    Object.defineProperty(holder, PATCHED, { value: new Set<string>(), enumerable: false });
  }
  const names = holder[PATCHED]!;
  if (names.has(name)) return false;
  names.add(name);
  return true;
}

/**
 * Runs `before(this)` ahead of every call of `target[name]` (a prototype method). Does
 * nothing if `target[name]` is not a function or was patched already.
 *
 * @example
 * ```ts
 * wrapMethod(Redis.prototype, 'connect', (client) => protect(client));
 * ```
 */
export function wrapMethod(
  target: object | undefined,
  name: string,
  before: (self: object) => void,
): void {
  const original = (target as Record<string, unknown> | undefined)?.[name];
  if (!target || typeof original !== 'function' || !markPatched(target, name)) return;
  const wrapped = function (this: object, ...args: unknown[]): unknown {
    before(this);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
  Object.defineProperty(wrapped, 'name', { value: original.name });
  (target as Record<string, unknown>)[name] = wrapped;
}

type AnyFunction = (...args: never[]) => unknown;

/** Replacements made so far, by original function: the same one serves every view of a copy. */
const replacements = new WeakMap<AnyFunction, AnyFunction>();
const ours = new WeakSet<AnyFunction>();

/**
 * Replaces the function `target[name]` (a module export) by `replace(original)`, once per
 * original: an ESM namespace and the CommonJS exports of the same copy get the same one.
 *
 * @example
 * ```ts
 * wrapExport(clientModule, 'createClient', (original) => (options) => original(options));
 * ```
 */
export function wrapExport<F extends AnyFunction>(
  target: object | undefined,
  name: string,
  replace: (original: F) => F,
): void {
  const original = (target as Record<string, unknown> | undefined)?.[name];
  if (!target || typeof original !== 'function') return;
  if (ours.has(original as F)) return;
  let replacement = replacements.get(original as F);
  if (!replacement) {
    replacement = replace(original as F);
    replacements.set(original as F, replacement);
    ours.add(replacement);
  }
  try {
    (target as Record<string, unknown>)[name] = replacement;
  } catch {
    // A read-only export: the other view of this copy (or the functions it calls) is patched.
  }
}
