/**
 * What every keyroom request/response server does with an inbound stream (sync, invite, devices):
 * count the requests in flight per peer and in total, and end a stream with one last frame.
 */
import { encodeFrame } from './frames.js'
import type { PeerId, Stream } from '@libp2p/interface'

/** How long a server waits for its last frame to flush before it resets the stream, ms. */
export const CLOSE_GRACE_MS = 1_000

/** Requests in flight, per peer and in total, under two caps. */
export class InflightQuota {
  readonly #perPeer = new Map<string, number>()
  readonly #maxPerPeer: number
  readonly #maxTotal: number
  #total = 0

  constructor (maxPerPeer: number, maxTotal: number) {
    this.#maxPerPeer = maxPerPeer
    this.#maxTotal = maxTotal
  }

  /** Requests in flight in total. */
  get total (): number {
    return this.#total
  }

  /** Requests in flight for `peer`. */
  of (peer: PeerId): number {
    return this.#perPeer.get(peer.toString()) ?? 0
  }

  /** Takes a slot for `peer`; false (nothing taken) when either cap is reached. */
  acquire (peer: PeerId): boolean {
    const key = peer.toString()
    const mine = this.#perPeer.get(key) ?? 0
    if (mine >= this.#maxPerPeer || this.#total >= this.#maxTotal) return false
    this.#perPeer.set(key, mine + 1)
    this.#total++
    return true
  }

  /** Gives back a slot {@link acquire} took. */
  release (peer: PeerId): void {
    const key = peer.toString()
    const left = (this.#perPeer.get(key) ?? 1) - 1
    if (left <= 0) this.#perPeer.delete(key)
    else this.#perPeer.set(key, left)
    this.#total--
  }
}

/**
 * Sends one last frame and closes the stream, giving the write at most {@link CLOSE_GRACE_MS};
 * otherwise resets it. True when the frame was flushed.
 */
export async function finishWithFrame (stream: Stream, payload: Uint8Array): Promise<boolean> {
  try {
    stream.send(encodeFrame(payload))
    await stream.close({ signal: AbortSignal.timeout(CLOSE_GRACE_MS) })
    return true
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    return false
  }
}
