// Clock and waiting helpers shared by the benchmark sections.

/**
 * Wall-clock time in milliseconds with sub-millisecond resolution (`performance` based), so
 * that timestamps from this process and the emulator process can be compared.
 *
 * @example
 * ```ts
 * const t0 = nowMs();
 * ```
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Resolves after `ms` milliseconds.
 *
 * @example
 * ```ts
 * await sleep(100);
 * ```
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `predicate` every `everyMs` until it holds; returns false if `timeoutMs` passed first.
 *
 * @example
 * ```ts
 * const ok = await waitUntil(() => done, 5_000);
 * ```
 */
export async function waitUntil(
  predicate: () => boolean,
  timeoutMs: number,
  everyMs = 10,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

/**
 * Runs `task` over `items` with at most `limit` in flight; resolves with the results in order.
 *
 * @example
 * ```ts
 * const clients = await inBatches(ids, 200, (id) => connect(id));
 * ```
 */
export async function inBatches<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Replaces anything that looks like a JWT in `text` (an error message, say) with `<token>`, so
 * that no token can reach a results file.
 *
 * @example
 * ```ts
 * redactTokens('AUTH failed for ey...'); // no token left
 * ```
 */
export function redactTokens(text: string): string {
  return text.replace(/eyJ[\w-]*\.[\w-]+\.[\w-]*/g, '<token>');
}
