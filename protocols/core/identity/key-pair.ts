/**
 * ed25519 key pairs for the three kinds of key (DESIGN §1): the UPK (the user), a UDK (one
 * device) and an RRK (one room). Thin helpers: a seed in, the public key and its text form out.
 * Seeds come from the caller (the keystore draws them from `crypto.getRandomValues`); the core
 * has no randomness.
 */
import { publicKeyFromSeed } from '../crypto/index.js'
import { formatDeviceId, formatRoomId, formatUserId } from './text-forms.js'
import type { DeviceId, RoomId, UserId } from './text-forms.js'

/** A 32-byte ed25519 seed (RFC 8032 private key) and its 32-byte public key. */
export interface KeyPair {
  seed: Uint8Array
  publicKey: Uint8Array
}

/** The key pair of a 32-byte seed; throws `ERR_INVALID_KEY_MATERIAL` for any other length. */
export function keyPairFromSeed (seed: Uint8Array): KeyPair {
  return { seed, publicKey: publicKeyFromSeed(seed) }
}

/** The UPK of a seed, with its user ID `~…`. */
export function userKeyPair (seed: Uint8Array): KeyPair & { userId: UserId } {
  const pair = keyPairFromSeed(seed)
  return { ...pair, userId: formatUserId(pair.publicKey) }
}

/** A UDK of a seed, with its device ID `^…`. */
export function deviceKeyPair (seed: Uint8Array): KeyPair & { deviceId: DeviceId } {
  const pair = keyPairFromSeed(seed)
  return { ...pair, deviceId: formatDeviceId(pair.publicKey) }
}

/** An RRK of a seed, with its room ID `!…`. */
export function roomKeyPair (seed: Uint8Array): KeyPair & { roomId: RoomId } {
  const pair = keyPairFromSeed(seed)
  return { ...pair, roomId: formatRoomId(pair.publicKey) }
}
