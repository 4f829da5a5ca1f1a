/**
 * The store's small binary codec: a growable writer and a bounds-checked reader.
 *
 * Every value the store writes is built with `ByteWriter` and every value it reads back goes
 * through `ByteReader`, which never reads past the end and throws `ErrorCode.CorruptStore` on
 * anything it cannot decode (truncation, an over-long varint, invalid UTF-8). A store that reads
 * corrupt or hostile bytes therefore fails with one named error instead of returning garbage.
 *
 * Integers are unsigned LEB128 varints up to 2^53 − 1 (arithmetic, not 32-bit bit operations, so
 * every safe integer round-trips) or fixed big-endian where a key must sort by value.
 */
import { crc32 } from 'node:zlib'
import { ErrorCode, KeyroomError } from '../protocols/core/index.js'

/** Byte order of keys (LevelDB's default comparator), from the core. */
export { compareBytes } from '../protocols/core/index.js'

const encoder = new TextEncoder()
/** `fatal`: invalid UTF-8 read back is corruption, never silently replaced with U+FFFD. */
const decoder = new TextDecoder('utf-8', { fatal: true })

/** UTF-8 bytes of a well-formed string. */
export function utf8 (text: string): Uint8Array {
  return encoder.encode(text)
}

/** The string of UTF-8 bytes; invalid UTF-8 is store corruption. */
export function fromUtf8 (bytes: Uint8Array, what: string): string {
  try {
    return decoder.decode(bytes)
  } catch (cause) {
    throw corrupt(`${what}: invalid UTF-8`, cause)
  }
}

/** The named error for bytes the store cannot decode. */
export function corrupt (message: string, cause?: unknown): KeyroomError {
  return new KeyroomError(ErrorCode.CorruptStore, `corrupt store: ${message}`, {
    hint: 'the database was damaged or written by something else; restore it from a backup or delete it and let the node catch up from its peers',
    cause
  })
}


/** Whether `bytes` starts with `prefix`. */
export function hasPrefix (bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false
  return true
}

/** Concatenation of byte strings. */
export function concatBytes (...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

/** The CRC-32 (ISO-HDLC, as zlib computes it) of `bytes`, for record checksums. */
export function checksum (bytes: Uint8Array): number {
  return crc32(bytes)
}

/** A growable byte buffer with the store's primitive encodings. */
export class ByteWriter {
  private buf: Uint8Array
  private len = 0

  constructor (initial = 64) {
    this.buf = new Uint8Array(initial)
  }

  private reserve (n: number): void {
    if (this.len + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.len + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
  }

  u8 (value: number): this {
    this.reserve(1)
    this.buf[this.len++] = value
    return this
  }

  /** Fixed 4-byte big-endian unsigned integer. */
  u32 (value: number): this {
    this.reserve(4)
    this.buf[this.len++] = (value >>> 24) & 0xff
    this.buf[this.len++] = (value >>> 16) & 0xff
    this.buf[this.len++] = (value >>> 8) & 0xff
    this.buf[this.len++] = value & 0xff
    return this
  }

  /** Fixed 8-byte big-endian unsigned integer (≤ 2^53 − 1), so keys sort numerically. */
  u64 (value: number): this {
    const hi = Math.floor(value / 0x1_0000_0000)
    this.u32(hi)
    this.u32(value - hi * 0x1_0000_0000)
    return this
  }

  /** Unsigned LEB128 varint (≤ 2^53 − 1). */
  varint (value: number): this {
    let v = value
    while (v >= 0x80) {
      this.u8((v % 0x80) | 0x80)
      v = Math.floor(v / 0x80)
    }
    this.u8(v)
    return this
  }

  /** Raw bytes, no length. */
  raw (bytes: Uint8Array): this {
    this.reserve(bytes.length)
    this.buf.set(bytes, this.len)
    this.len += bytes.length
    return this
  }

  /** Varint length, then the bytes. */
  bytes (bytes: Uint8Array): this {
    return this.varint(bytes.length).raw(bytes)
  }

  /** Varint length, then the UTF-8 bytes. */
  string (text: string): this {
    return this.bytes(utf8(text))
  }

  /** The bytes written so far (a copy-free view). */
  finish (): Uint8Array {
    return this.buf.subarray(0, this.len)
  }
}

/** A bounds-checked reader; every failure is `ErrorCode.CorruptStore` naming `what` it read. */
export class ByteReader {
  private pos = 0

  constructor (private readonly buf: Uint8Array, private readonly what: string) {}

  get remaining (): number {
    return this.buf.length - this.pos
  }

  private need (n: number): void {
    if (this.pos + n > this.buf.length) throw corrupt(`${this.what}: truncated`)
  }

  u8 (): number {
    this.need(1)
    return this.buf[this.pos++]!
  }

  u32 (): number {
    this.need(4)
    const b = this.buf
    const p = this.pos
    this.pos += 4
    return ((b[p]! << 24) >>> 0) + (b[p + 1]! << 16) + (b[p + 2]! << 8) + b[p + 3]!
  }

  u64 (): number {
    const hi = this.u32()
    const lo = this.u32()
    if (hi > 0x1f_ffff) throw corrupt(`${this.what}: integer beyond 2^53`)
    return hi * 0x1_0000_0000 + lo
  }

  varint (): number {
    let value = 0
    let scale = 1
    for (let i = 0; i < 8; i++) {
      const b = this.u8()
      value += (b & 0x7f) * scale
      if ((b & 0x80) === 0) {
        // The shortest form only: a trailing zero byte would give one number two encodings.
        if (b === 0 && i > 0) throw corrupt(`${this.what}: non-minimal varint`)
        if (!Number.isSafeInteger(value)) throw corrupt(`${this.what}: integer beyond 2^53`)
        return value
      }
      scale *= 0x80
    }
    throw corrupt(`${this.what}: varint too long`)
  }

  raw (n: number): Uint8Array {
    this.need(n)
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  bytes (): Uint8Array {
    return this.raw(this.varint())
  }

  string (): string {
    return fromUtf8(this.bytes(), this.what)
  }

  /** Throws unless every byte was consumed (trailing bytes are corruption too). */
  end (): void {
    if (this.pos !== this.buf.length) throw corrupt(`${this.what}: ${this.buf.length - this.pos} trailing bytes`)
  }
}
