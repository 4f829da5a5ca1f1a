/**
 * The text a new device shows to be linked (DESIGN §1 "Linking a second device"): short enough for
 * a QR code, and everything the linking device needs —
 *
 *   keyroom:link/^<udk>?code=<one-time code>&via=<multiaddr>&via=…
 *
 * - `^<udk>`: the new device's UDK. It is also its PeerId, so dialling it and completing the Noise
 *   handshake proves the device holds that key; the device then counter-signs the attestation it is
 *   offered (proof of possession inside the attestation itself).
 * - `code`: 16 random bytes (unpadded URL-safe base64). The device accepts an attestation only
 *   with this code: a device waiting to be linked is reachable by anyone who knows its UDK, and
 *   without the code a stranger on the LAN could claim it for their own identity first. Whoever
 *   reads the QR code has the code — that is the point of showing it.
 * - `via`: where the device listens, without `/p2p/…` (the linking device appends the PeerId it
 *   derives from the UDK), at most {@link MAX_LINK_VIA} addresses, non-loopback ones first.
 *
 * A pre-made counter-signature cannot travel in the text: the attestation the device signs names
 * the user (UPK) and the times chosen by the linking device, which the new device does not know yet.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { ErrorCode, KeyroomError, fromBase64Url, parseDeviceId } from '../protocols/core/index.js'

/** Scheme and path prefix of a link text. */
export const LINK_TEXT_PREFIX = 'keyroom:link/'

/** Most `via` addresses a link text carries (QR codes stay small). */
export const MAX_LINK_VIA = 3

/** Bytes of a link code. */
export const LINK_CODE_BYTES = 16

/** A parsed link text. */
export interface LinkText {
  deviceId: string
  code: string
  via: string[]
}

function bad (problem: string, cause?: unknown): KeyroomError {
  return new KeyroomError(ErrorCode.InvalidKey, `invalid device link: ${problem}`, {
    hint: "paste the whole 'keyroom:link/^…?code=…' text the new device shows",
    ...(cause === undefined ? {} : { cause })
  })
}

function isLoopback (address: string): boolean {
  return address.startsWith('/ip4/127.') || address.startsWith('/ip6/::1/')
}

function withoutPeerId (address: string): string {
  const at = address.indexOf('/p2p/')
  return at < 0 ? address : address.slice(0, at)
}

/** The link text of a waiting device: its UDK, its code and up to {@link MAX_LINK_VIA} listen addresses. */
export function formatLinkText (link: LinkText): string {
  const seen = new Set<string>()
  const addresses: string[] = []
  // Addresses another device can reach first; loopback last (same host only).
  for (const address of [...link.via.filter(a => !isLoopback(a)), ...link.via.filter(isLoopback)]) {
    const bare = withoutPeerId(address)
    if (bare.length === 0 || seen.has(bare)) continue
    seen.add(bare)
    addresses.push(bare)
  }
  const query = [`code=${link.code}`, ...addresses.slice(0, MAX_LINK_VIA).map(a => `via=${encodeURIComponent(a).replace(/%2F/giu, '/')}`)]
  return `${LINK_TEXT_PREFIX}${link.deviceId}?${query.join('&')}`
}

/** Parses a link text; throws `ERR_INVALID_KEY` on any bad form. */
export function parseLinkText (text: unknown): LinkText {
  if (typeof text !== 'string') throw bad('not a string')
  const trimmed = text.trim()
  if (!trimmed.toLowerCase().startsWith(LINK_TEXT_PREFIX)) throw bad(`it does not start with '${LINK_TEXT_PREFIX}'`)
  const rest = trimmed.slice(LINK_TEXT_PREFIX.length)
  const q = rest.indexOf('?')
  if (q < 0) throw bad('it has no code')
  const deviceId = rest.slice(0, q)
  try {
    parseDeviceId(deviceId)
  } catch (cause) {
    throw bad(`${cause instanceof Error ? cause.message : String(cause)}`, cause)
  }
  let code: string | undefined
  const via: string[] = []
  for (const part of rest.slice(q + 1).split('&')) {
    const eq = part.indexOf('=')
    if (eq <= 0) throw bad('a query part is not name=value')
    const name = part.slice(0, eq)
    let value: string
    try {
      value = decodeURIComponent(part.slice(eq + 1))
    } catch (cause) {
      throw bad('bad percent-encoding', cause)
    }
    if (name === 'code') {
      let bytes: Uint8Array
      try {
        bytes = fromBase64Url(value)
      } catch (cause) {
        throw bad('the code is not base64url', cause)
      }
      if (bytes.length !== LINK_CODE_BYTES) throw bad(`the code is ${bytes.length} bytes, not ${LINK_CODE_BYTES}`)
      code = value
    } else if (name === 'via') {
      try {
        multiaddr(value)
      } catch (cause) {
        throw bad(`via ${JSON.stringify(value.slice(0, 80))} is not a multiaddr`, cause)
      }
      via.push(value)
    }
  }
  if (code === undefined) throw bad('it has no code')
  return { deviceId, code, via }
}
