/**
 * Small helpers for JSON objects whose keys come from the network.
 *
 * Keys such as `"__proto__"` and `"constructor"` are ordinary data in JSON. A plain property read
 * (`obj[key]`) can reach `Object.prototype` for a key the object does not own, and a plain write
 * of `"__proto__"` sets the prototype instead of creating a property. Signed and hashed data go
 * through these helpers so that neither happens.
 */

/** A JSON object as this code sees it. */
export type JsonObject = Record<string, unknown>

/** True for a JSON object: not null, not an array. */
export function isJsonObject (value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Own-property read: `undefined` unless `object` itself has `key`. */
export function getOwn (object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined
}

/** Own-property write that creates a data property for any key, `"__proto__"` included. */
export function setOwn (object: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true })
  } else {
    object[key] = value
  }
}

/** Deep copy of a JSON value (objects, arrays, scalars); keys stay own data properties. */
export function cloneJson (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneJson)
  if (isJsonObject(value)) {
    const out: JsonObject = {}
    for (const key of Object.keys(value)) setOwn(out, key, cloneJson(value[key]))
    return out
  }
  return value
}
