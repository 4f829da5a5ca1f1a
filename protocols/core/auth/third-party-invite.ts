/**
 * Rule "If any signature in `signed` matches any public key in the `m.room.third_party_invite`
 * event, allow" (rule 5.3.1.7 of v1–v5 / 4.4.1.7 of v8–v11 / 5.4.1.7 of v12, and the same rule in
 * the versions between).
 *
 * `signed` is Matrix signed JSON (`{mxid, token, signatures: {entity: {keyId: sig}}}`) made by the
 * identity server; the public keys are in the invite event's content as `public_key` (one key) and
 * `public_keys` (a list of `{public_key, key_validity_url}`). Checking a signature is
 * `verifyJson` (appendices, "Checking for a signature") against every key.
 *
 * Public keys are decoded leniently — standard or URL-safe alphabet, with or without `=`
 * padding — because identity servers publish both forms and the rule only asks whether a
 * signature matches; a key that decodes to anything but 32 bytes matches nothing. Signatures
 * themselves are decoded by `verifyJson`, strictly.
 */
import { fromBase64, fromBase64Url } from '../encoding/base64.js'
import { verifyJson } from '../signing/index.js'
import { getOwn, isJsonObject } from './pdu.js'
import type { JsonObject } from './pdu.js'

/** The base64 public keys an `m.room.third_party_invite` event's content lists. */
export function thirdPartyInvitePublicKeys (content: JsonObject): string[] {
  const keys: string[] = []
  const single = getOwn(content, 'public_key')
  if (typeof single === 'string') keys.push(single)
  const list = getOwn(content, 'public_keys')
  if (Array.isArray(list)) {
    for (const item of list) {
      if (!isJsonObject(item)) continue
      const key = getOwn(item, 'public_key')
      if (typeof key === 'string') keys.push(key)
    }
  }
  return keys
}

/** Decode base64 in either alphabet, padded or not; `undefined` when it is not base64. */
function decodeLenientBase64 (text: string): Uint8Array | undefined {
  const unpadded = text.replace(/={1,2}$/, '')
  try {
    return /[-_]/.test(unpadded) ? fromBase64Url(unpadded) : fromBase64(unpadded)
  } catch {
    return undefined
  }
}

/**
 * True when any signature in `signed.signatures` verifies, with `verifyJson`, under any of
 * `publicKeys`. Malformed input is `false`, never an exception.
 */
export function verifyThirdPartyInviteSigned (signed: JsonObject, publicKeys: readonly string[]): boolean {
  const signatures = getOwn(signed, 'signatures')
  if (!isJsonObject(signatures)) return false
  const keys: Uint8Array[] = []
  for (const text of publicKeys) {
    const key = decodeLenientBase64(text)
    if (key !== undefined && key.length === 32) keys.push(key)
  }
  for (const entity of Object.keys(signatures)) {
    const entry = signatures[entity]
    if (!isJsonObject(entry)) continue
    for (const keyId of Object.keys(entry)) {
      for (const key of keys) {
        if (verifyJson(signed, entity, keyId, key)) return true
      }
    }
  }
  return false
}
