/**
 * A minimal typed event emitter whose listeners are isolated: a listener that throws is
 * reported through `onListenerError` and never breaks the emitter or other listeners.
 *
 * @example
 * ```ts
 * const e = new TypedEmitter<{ ping: { n: number } }>(() => {});
 * e.on('ping', ({ n }) => console.log(n));
 * e.emit('ping', { n: 1 });
 * ```
 */
export class TypedEmitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<(payload: never) => void>>();
  readonly #onListenerError: (event: keyof Events, error: unknown) => void;

  constructor(onListenerError: (event: keyof Events, error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Adds a listener; adding the same function twice has no effect. */
  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): this {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as (payload: never) => void);
    return this;
  }

  /** Removes a listener (no-op when absent). */
  off<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): this {
    const set = this.#listeners.get(event);
    set?.delete(listener as (payload: never) => void);
    if (set?.size === 0) this.#listeners.delete(event);
    return this;
  }

  /** Adds a listener that removes itself after its first call. */
  once<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): this {
    const wrapper = (payload: Events[K]): void => {
      this.off(event, wrapper);
      listener(payload);
    };
    return this.on(event, wrapper);
  }

  /** Number of listeners of `event`. */
  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  /** Calls every listener of `event` with `payload`, isolating failures. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        const result: unknown = (listener as (payload: Events[K]) => unknown)(payload);
        if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
          (result as PromiseLike<unknown>).then(undefined, (error: unknown) =>
            this.#onListenerError(event, error),
          );
        }
      } catch (error) {
        this.#onListenerError(event, error);
      }
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.#listeners.clear();
  }
}
