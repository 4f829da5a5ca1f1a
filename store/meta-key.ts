/**
 * Typed keys of the node-metadata table (`RoomStore.getMeta`/`putMeta`): a name plus the codec
 * of its value, so a caller never handles raw bytes and a value read back is checked.
 */
import { fromUtf8, utf8 } from './codec.js'
import type { MetaKey } from './contract.js'

/** Builders of `MetaKey`s. */
export const metaKey = {
  /** A UTF-8 string value. */
  string (name: string): MetaKey<string> {
    return { name, encode: utf8, decode: (b) => fromUtf8(b, `meta ${name}`) }
  },
  /** A raw byte-string value. */
  bytes (name: string): MetaKey<Uint8Array> {
    return { name, encode: (v) => v.slice(), decode: (b) => b.slice() }
  },
  /**
   * A JSON value, checked on read by `guard` (a value that fails it is reported as corruption).
   * Only JSON-representable values round-trip.
   */
  json<T> (name: string, guard: (value: unknown) => value is T): MetaKey<T> {
    return {
      name,
      encode: (v) => utf8(JSON.stringify(v)),
      decode: (b) => {
        const value: unknown = JSON.parse(fromUtf8(b, `meta ${name}`))
        if (!guard(value)) throw new TypeError(`meta ${name}: value of the wrong shape`)
        return value
      }
    }
  }
} as const
