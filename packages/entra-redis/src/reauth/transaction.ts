/** Told by a {@link TransactionTracker} when a transaction ends. */
export interface TransactionListener {
  transactionEnded(): void;
}

/**
 * Tracks whether a connection is inside `MULTI … EXEC`, from the order in which commands are
 * written to it. An AUTH written inside a transaction is queued into it (it would change the
 * caller's `EXEC` result and be lost on `DISCARD`), so adapters defer a re-AUTH until the
 * transaction ends and send it right after `EXEC`/`DISCARD`.
 *
 * States: `idle` → (MULTI written) → `inTransaction` → (EXEC, DISCARD or RESET written, or the
 * connection lost) → `idle`. A MULTI written while already inside (Redis refuses nesting) keeps
 * the state. Names are case-insensitive.
 *
 * @example
 * ```ts
 * const tx = new TransactionTracker();
 * tx.onCommandWritten('MULTI'); tx.inTransaction; // true
 * tx.onCommandWritten('exec');  tx.inTransaction; // false
 * ```
 */
export class TransactionTracker implements TransactionListener {
  #inTransaction = false;
  readonly #listener: TransactionListener | undefined;

  /**
   * `listener` hears each time a transaction ends (EXEC, DISCARD, RESET or loss). A subclass
   * overrides {@link TransactionTracker.transactionEnded} instead: the adapters' per-connection
   * guards do, so that tracking costs them no object of its own.
   */
  constructor(listener?: TransactionListener) {
    this.#listener = listener;
  }

  /** A transaction ended: tells the listener. */
  transactionEnded(): void {
    this.#listener?.transactionEnded();
  }

  /** Whether the next command written would be queued into a transaction. */
  get inTransaction(): boolean {
    return this.#inTransaction;
  }

  /** Call for every command written to the connection, in write order. */
  onCommandWritten(name: string): void {
    // Runs for every command: only MULTI, EXEC, DISCARD and RESET (4, 5 or 7 letters) are
    // lower-cased and compared.
    const length = name.length;
    if (length !== 4 && length !== 5 && length !== 7) return;
    const lower = name.toLowerCase();
    if (lower === 'multi') {
      this.#inTransaction = true;
    } else if (lower === 'exec' || lower === 'discard' || lower === 'reset') {
      this.#end();
    }
  }

  /** Call when the connection is lost: the server dropped the transaction with it. */
  onConnectionLost(): void {
    this.#end();
  }

  #end(): void {
    if (!this.#inTransaction) return;
    this.#inTransaction = false;
    this.transactionEnded();
  }
}
