/**
 * Bounded waiting for tests: poll a predicate until it holds, or fail after `timeout` ms with a
 * message that says what was awaited. Use instead of bare sleeps (STYLE habit 14).
 */

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many ms (default 5000). */
  timeout?: number
  /** Poll interval, ms (default 10). */
  interval?: number
  /** What is awaited, for the failure message. */
  message?: string
}

/**
 * Resolve with the predicate's first value other than `undefined`, `null` or `false`; reject with
 * an Error after `timeout`. A
 * predicate that throws is treated as "not yet" until the deadline, then its last error is
 * attached as `cause`.
 */
export async function waitFor<T> (predicate: () => T | Promise<T>, options: WaitForOptions = {}): Promise<NonNullable<T>> {
  const timeout = options.timeout ?? 5_000
  const interval = options.interval ?? 10
  const deadline = Date.now() + timeout
  let lastError: unknown
  while (true) {
    try {
      const value = await predicate()
      if (value !== undefined && value !== null && value !== false) return value as NonNullable<T>
    } catch (err) {
      lastError = err
    }
    if (Date.now() >= deadline) {
      throw new Error(`waitFor timed out after ${timeout}ms${options.message === undefined ? '' : `: ${options.message}`}`, { cause: lastError })
    }
    await new Promise(resolve => setTimeout(resolve, interval))
  }
}
