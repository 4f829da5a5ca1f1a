import { describe, expect, it } from 'vitest'
import { publicKeyFromSeed } from '../../../../protocols/core/crypto/index.js'
import {
  deviceKeyPair, keyPairFromSeed, parseDeviceId, parseRoomId, parseUserId, roomKeyPair, userKeyPair
} from '../../../../protocols/core/identity/index.js'

describe('key pairs', () => {
  const seed = Uint8Array.from({ length: 32 }, (_, i) => i)

  it('derives the public key and each kind of text form from one seed', () => {
    const pair = keyPairFromSeed(seed)
    expect(pair.seed).toBe(seed)
    expect(pair.publicKey).toEqual(publicKeyFromSeed(seed))
    expect(parseUserId(userKeyPair(seed).userId)).toEqual(pair.publicKey)
    expect(parseDeviceId(deviceKeyPair(seed).deviceId)).toEqual(pair.publicKey)
    expect(parseRoomId(roomKeyPair(seed).roomId)).toEqual(pair.publicKey)
  })

  it('refuses seeds that are not 32 bytes', () => {
    for (const bad of [new Uint8Array(31), new Uint8Array(64)]) {
      expect(() => userKeyPair(bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY_MATERIAL' }))
    }
  })
})
