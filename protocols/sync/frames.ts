/**
 * Length-prefixed frames with hard bounds.
 *
 * A frame is an unsigned LEB128 varint (the multiformats `unsigned-varint` form libp2p uses
 * everywhere) giving the payload length, then the payload. We parse the prefix ourselves rather than
 * through `it-length-prefixed` so that every bound is checked *before* a byte of payload is buffered:
 * a peer that announces a 1 GB frame is refused on the announcement, not after we have stored it.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { ErrorCode, KeyroomError } from '../core/index.js'
import type { AbortOptions, Stream } from '@libp2p/interface'

/** Longest varint prefix we read: 4 bytes carry lengths up to 2^28 − 1, far above every bound. */
const MAX_VARINT_BYTES = 4

/** Encode `n` (a non-negative safe integer below 2^28) as an unsigned LEB128 varint. */
export function encodeVarint (n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** (7 * MAX_VARINT_BYTES)) {
    throw new KeyroomError(ErrorCode.SyncBadMessage, `frame length ${n} cannot be encoded`)
  }
  const out: number[] = []
  let v = n
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80)
    v >>>= 7
  }
  out.push(v)
  return Uint8Array.from(out)
}

/** One frame: varint length prefix, then the payload. */
export function encodeFrame (payload: Uint8Array): Uint8Array {
  const prefix = encodeVarint(payload.byteLength)
  const out = new Uint8Array(prefix.byteLength + payload.byteLength)
  out.set(prefix, 0)
  out.set(payload, prefix.byteLength)
  return out
}

/**
 * Result of looking for a varint at the start of `buf`: the value and its byte length, or
 * `undefined` when more bytes are needed.
 */
function readVarint (buf: Uint8ArrayList): { value: number, bytes: number } | undefined {
  let value = 0
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (i >= buf.byteLength) return undefined
    const b = buf.get(i)
    value += (b & 0x7f) * 2 ** (7 * i)
    if ((b & 0x80) === 0) {
      // A final zero byte after a continuation byte is a non-minimal encoding ("0x80 0x00" for 0):
      // refused, so each length has exactly one encoding on the wire.
      if (i > 0 && b === 0) throw new KeyroomError(ErrorCode.SyncBadMessage, 'non-minimal varint frame length')
      return { value, bytes: i + 1 }
    }
  }
  return { value: Number.POSITIVE_INFINITY, bytes: MAX_VARINT_BYTES }
}

/** How a {@link FrameReader} reports a frame or a stream that is too large. */
export interface FrameLimits {
  /** Most payload bytes one frame may announce. */
  maxFrameBytes: number
  /** Most bytes (prefixes included) the reader will take from the source in total. */
  maxTotalBytes: number
  /** Error code for crossing either limit (request side vs response side). */
  tooLargeCode: typeof ErrorCode.SyncRequestTooLarge | typeof ErrorCode.SyncResponseTooLarge
}

/**
 * Reads bounded frames from a stream (any async iterable of byte chunks).
 *
 * It pulls chunks only when a frame is asked for, counts every byte, and throws a
 * {@link KeyroomError} the moment a bound is crossed. Call {@link FrameReader.close} when done so
 * the stream's message listener is removed.
 */
export class FrameReader {
  readonly #source: AsyncIterator<Uint8Array | Uint8ArrayList>
  readonly #buffer = new Uint8ArrayList()
  readonly #limits: FrameLimits
  #total = 0
  #ended = false

  constructor (source: AsyncIterable<Uint8Array | Uint8ArrayList>, limits: FrameLimits) {
    this.#source = source[Symbol.asyncIterator]()
    this.#limits = limits
  }

  /** Bytes taken from the source so far. */
  get bytesRead (): number {
    return this.#total
  }

  /**
   * The next frame's payload, or `undefined` at a clean end of stream (no partial frame pending).
   *
   * @param maxFrameBytes - a tighter per-frame bound for this frame (defaults to the reader's).
   */
  async next (maxFrameBytes: number = this.#limits.maxFrameBytes): Promise<Uint8Array | undefined> {
    const max = Math.min(maxFrameBytes, this.#limits.maxFrameBytes)
    while (true) {
      const prefix = readVarint(this.#buffer)
      if (prefix !== undefined) {
        if (prefix.value > max) {
          throw new KeyroomError(this.#limits.tooLargeCode, `frame of ${prefix.value} bytes exceeds the limit of ${max}`)
        }
        if (this.#buffer.byteLength >= prefix.bytes + prefix.value) {
          const payload = this.#buffer.subarray(prefix.bytes, prefix.bytes + prefix.value)
          this.#buffer.consume(prefix.bytes + prefix.value)
          // subarray() may be a view into a received chunk (often a Node Buffer, whose slice() is
          // also a view): copy into a plain Uint8Array the caller owns.
          return new Uint8Array(payload)
        }
      }
      if (this.#ended) {
        if (this.#buffer.byteLength === 0) return undefined
        throw new KeyroomError(ErrorCode.SyncBadMessage, 'stream ended inside a frame')
      }
      await this.#pull()
    }
  }

  /** Resolves once the source has ended; throws if any further byte arrives (trailing data). */
  async expectEnd (): Promise<void> {
    while (this.#buffer.byteLength === 0 && !this.#ended) await this.#pull()
    if (this.#buffer.byteLength > 0) throw new KeyroomError(ErrorCode.SyncBadMessage, 'unexpected data after the last frame')
  }

  /** Stop reading: release the source iterator (and with it the stream's message listener). */
  async close (): Promise<void> {
    this.#ended = true
    await this.#source.return?.()
  }

  async #pull (): Promise<void> {
    const { done, value } = await this.#source.next()
    if (done === true) {
      this.#ended = true
      return
    }
    this.#total += value.byteLength
    if (this.#total > this.#limits.maxTotalBytes) {
      throw new KeyroomError(this.#limits.tooLargeCode, `more than ${this.#limits.maxTotalBytes} bytes on one stream`)
    }
    this.#buffer.append(value)
  }
}

/**
 * Bytes of frames written to a stream in one `send`: small frames (an event is ~1 KB) are
 * gathered up to this size, so the muxer and the encryption layer handle one message per ~60 KB
 * instead of one per event. Below Noise's largest plaintext (65,519 bytes), so one send is one
 * Noise message.
 */
const WRITE_CHUNK_BYTES = 60 * 1024

/**
 * Write frames to a stream, honouring backpressure: when `send` reports a full buffer, wait for
 * `drain` before the next write (js-libp2p 3 streams have no sink; `send` + `onDrain` replace it).
 * Consecutive small frames go out together (see {@link WRITE_CHUNK_BYTES}).
 */
export async function writeFrames (stream: Stream, payloads: Iterable<Uint8Array>, options: AbortOptions = {}): Promise<void> {
  let pending: Uint8Array[] = []
  let pendingBytes = 0
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return
    const chunk = pending.length === 1 ? pending[0]! : concat(pending, pendingBytes)
    pending = []
    pendingBytes = 0
    if (!stream.send(chunk)) await stream.onDrain(options)
  }
  for (const payload of payloads) {
    const frame = encodeFrame(payload)
    if (pendingBytes + frame.byteLength > WRITE_CHUNK_BYTES) await flush()
    pending.push(frame)
    pendingBytes += frame.byteLength
  }
  await flush()
}

function concat (parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.byteLength
  }
  return out
}
