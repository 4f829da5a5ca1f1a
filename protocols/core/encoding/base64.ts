/**
 * Unpadded base64, as Matrix uses it.
 *
 * Matrix appendices: "Unpadded Base64" — standard alphabet, no `=` padding. Event IDs from room
 * version 4 on and keyroom's key text forms use the URL-safe alphabet (RFC 4648 §5), also unpadded.
 * Decoding is strict: only the expected alphabet, no padding, no whitespace, and the unused
 * trailing bits must be zero, so every byte string has exactly one accepted text form.
 */
import { ErrorCode, KeyroomError } from '../errors.js'

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

function makeDecodeTable (alphabet: string): Int16Array {
  const table = new Int16Array(128).fill(-1)
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i
  return table
}

const STD_DECODE = makeDecodeTable(STD)
const URL_DECODE = makeDecodeTable(URL)

function encode (bytes: Uint8Array, alphabet: string): string {
  let out = ''
  const n = bytes.length
  let i = 0
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += alphabet[v >>> 18]! + alphabet[(v >>> 12) & 63]! + alphabet[(v >>> 6) & 63]! + alphabet[v & 63]!
  }
  const rest = n - i
  if (rest === 1) {
    const v = bytes[i]! << 16
    out += alphabet[v >>> 18]! + alphabet[(v >>> 12) & 63]!
  } else if (rest === 2) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += alphabet[v >>> 18]! + alphabet[(v >>> 12) & 63]! + alphabet[(v >>> 6) & 63]!
  }
  return out
}

function decode (text: string, table: Int16Array, what: string): Uint8Array {
  const len = text.length
  if (len % 4 === 1) throw new KeyroomError(ErrorCode.InvalidBase64, `invalid ${what}: impossible length ${len}`)
  const out = new Uint8Array(Math.floor(len * 3 / 4))
  let o = 0
  let acc = 0
  let bits = 0
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i)
    const v = c < 128 ? table[c]! : -1
    if (v < 0) throw new KeyroomError(ErrorCode.InvalidBase64, `invalid ${what}: unexpected character at ${i}`)
    acc = (acc << 6) | v
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >>> bits) & 0xff
    }
    acc &= (1 << bits) - 1
  }
  if (acc !== 0) throw new KeyroomError(ErrorCode.InvalidBase64, `invalid ${what}: non-zero trailing bits`)
  return out
}

/** Unpadded standard base64 (Matrix "Unpadded Base64"). */
export function toBase64 (bytes: Uint8Array): string {
  return encode(bytes, STD)
}

/** Unpadded URL-safe base64 (RFC 4648 §5, no padding). */
export function toBase64Url (bytes: Uint8Array): string {
  return encode(bytes, URL)
}

/** Strict decode of unpadded standard base64; throws `ERR_INVALID_BASE64`. */
export function fromBase64 (text: string): Uint8Array {
  return decode(text, STD_DECODE, 'unpadded base64')
}

/** Strict decode of unpadded URL-safe base64; throws `ERR_INVALID_BASE64`. */
export function fromBase64Url (text: string): Uint8Array {
  return decode(text, URL_DECODE, 'unpadded URL-safe base64')
}
