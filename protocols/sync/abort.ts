/**
 * Small cancellation helpers shared by the wire protocols (sync, identity directory): every
 * operation runs under the caller's signals and its own time bound, whichever fires first.
 */
import { setMaxListeners } from '@libp2p/interface'

/**
 * A signal that fires when any of `signals` does or after `ms`, whichever comes first, and which
 * of the two it was. Node warns past 10 listeners per signal; a long request or a DHT query
 * legitimately attaches more (stream, drain, reads, one per query path), hence the raised limit.
 */
export function deadline (ms: number, ...signals: Array<AbortSignal | undefined>): { signal: AbortSignal, timedOut: () => boolean } {
  const timeout = AbortSignal.timeout(ms)
  const given = signals.filter((s): s is AbortSignal => s !== undefined)
  const signal = given.length === 0 ? timeout : AbortSignal.any([...given, timeout])
  setMaxListeners(Infinity, signal)
  return { signal, timedOut: () => timeout.aborted && !given.some(s => s.aborted) }
}

/**
 * Settle with `promise`, or reject with the signal's reason as soon as it aborts. The losing
 * promise keeps running: callers abort the underlying resource (a stream) so it ends too, or let
 * a shared operation (a lookup other callers wait for) go on.
 */
export async function raceSignal<T> (promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return await promise
  // If the signal wins, the promise may still reject later: observe that rejection here so it is
  // not reported as unhandled. Promise.race still sees it if it comes first.
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
