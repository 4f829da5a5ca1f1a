/**
 * Small cancellation helpers (the protocol's only timing primitives).
 */
import { setMaxListeners } from '@libp2p/interface'

/**
 * A signal that fires when the caller's signal does or after `ms`, whichever comes first, and
 * which of the two it was. Node warns past 10 listeners per signal; a long request legitimately
 * attaches more (stream, drain, reads), hence the raised limit.
 */
export function deadline (ms: number, outer?: AbortSignal): { signal: AbortSignal, timedOut: () => boolean } {
  const timeout = AbortSignal.timeout(ms)
  const signal = outer === undefined ? timeout : AbortSignal.any([outer, timeout])
  setMaxListeners(Infinity, signal)
  return { signal, timedOut: () => timeout.aborted && outer?.aborted !== true }
}

/**
 * Settle with `promise`, or reject with the signal's reason as soon as it aborts. The losing
 * promise keeps running; callers abort the underlying resource (the stream) so it ends too.
 */
export async function raceSignal<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  // If the signal wins, the promise may still reject later (its stream was aborted): observe that
  // rejection here so it is not reported as unhandled. Promise.race still sees it if it comes first.
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
