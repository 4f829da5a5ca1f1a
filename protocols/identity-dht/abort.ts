/**
 * Cancellation helpers: every DHT operation runs under the caller's signal, the service's stop
 * signal and its own time bound, whichever fires first.
 */
import { setMaxListeners } from '@libp2p/interface'

/** A signal that fires when any of `signals` does or after `ms`; `timedOut()` says whether the time bound fired. */
export function deadline (ms: number, ...signals: Array<AbortSignal | undefined>): { signal: AbortSignal, timedOut: () => boolean } {
  const timeout = AbortSignal.timeout(ms)
  const given = signals.filter((s): s is AbortSignal => s !== undefined)
  const signal = AbortSignal.any([...given, timeout])
  // A DHT query attaches a listener per path and per request; Node warns past 10.
  setMaxListeners(Infinity, signal)
  return { signal, timedOut: () => timeout.aborted && !given.some(s => s.aborted) }
}

/**
 * Settle with `promise`, or reject with the signal's reason as soon as it aborts. The promise keeps
 * running (a shared lookup other callers still wait for).
 */
export async function raceSignal<T> (promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return await promise
  promise.catch(() => {})
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}
