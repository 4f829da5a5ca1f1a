/**
 * The keystore steps of linking and renewal: a waiting device's key survives restarts, completing
 * it writes a keystore `loadIdentity` reads (without the UPK), and a renewal replaces the
 * attestation only for the same user and device.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { IDENTITY_KEY_ID, attestationBody, createAttestation, signJson, userKeyPair } from '../../node/index.js'
import { LINK_REQUEST_FILE_NAME, completePendingDevice, loadOrCreatePendingDevice, replaceAttestation } from '../../node/device-keystore.js'
import { loadIdentity } from '../../store/index.js'
import { tempDir } from './fixtures.js'
import type { AttestationJson } from '../../node/index.js'
import type { PendingDevice } from '../../node/device-keystore.js'

const upkSeed = new Uint8Array(32).fill(3)
const userId = userKeyPair(upkSeed).userId

/** The attestation a linking device would offer, counter-signed as the waiting device does. */
function attest (pending: PendingDevice, issuedTs: number, expiresTs?: number): AttestationJson {
  const offered = signJson(attestationBody({ upk: userId, udk: pending.deviceId, issuedTs, expiresTs }), userId, IDENTITY_KEY_ID, upkSeed)
  return signJson(offered, pending.deviceId, IDENTITY_KEY_ID, pending.udkSeed) as AttestationJson
}

describe('device keystore steps', () => {
  it('keeps a waiting device\'s key and code until it is linked, then writes a keystore without the UPK', async () => {
    const dir = await tempDir()
    const pending = await loadOrCreatePendingDevice(dir)
    expect(await loadOrCreatePendingDevice(dir)).toEqual(pending)
    expect((await stat(join(dir, LINK_REQUEST_FILE_NAME))).mode & 0o777).toBe(0o600)
    await completePendingDevice(dir, pending, attest(pending, 1_000, 9_000))
    const identity = await loadIdentity(dir)
    expect(identity).toMatchObject({ userId, deviceId: pending.deviceId, encrypted: false })
    expect(identity.upkSeed).toBeUndefined()
    expect(identity.udkSeed).toEqual(pending.udkSeed)
    expect(identity.attestation.expires_ts).toBe(9_000)
    await expect(stat(join(dir, LINK_REQUEST_FILE_NAME))).rejects.toMatchObject({ code: 'ENOENT' })
    // Never over an existing keystore.
    await expect(completePendingDevice(dir, pending, attest(pending, 2_000))).rejects.toMatchObject({ code: 'ERR_IDENTITY_EXISTS' })

    // A renewal replaces the attestation; one for another device is refused.
    await replaceAttestation(dir, attest(pending, 5_000, 20_000))
    expect((await loadIdentity(dir)).attestation).toMatchObject({ issued_ts: 5_000, expires_ts: 20_000 })
    const other = await loadOrCreatePendingDevice(await tempDir())
    await expect(replaceAttestation(dir, attest(other, 6_000))).rejects.toMatchObject({ code: 'ERR_INVALID_KEY_MATERIAL' })
    // An attestation the device never counter-signed is refused.
    const unsigned = signJson(attestationBody({ upk: userId, udk: pending.deviceId, issuedTs: 7_000 }), userId, IDENTITY_KEY_ID, upkSeed) as AttestationJson
    await expect(replaceAttestation(dir, unsigned)).rejects.toMatchObject({ code: 'ERR_INVALID_KEY_MATERIAL' })
    await expect(completePendingDevice(await tempDir(), other, createAttestation({ upkSeed, udkSeed: new Uint8Array(32).fill(9), issuedTs: 1 })))
      .rejects.toMatchObject({ code: 'ERR_INVALID_KEY_MATERIAL' })
  })

  it('seals the waiting device\'s key and the keystore under a passphrase', async () => {
    const dir = await tempDir()
    const pending = await loadOrCreatePendingDevice(dir, { passphrase: 'correct horse' })
    await expect(loadOrCreatePendingDevice(dir)).rejects.toMatchObject({ code: 'ERR_PASSPHRASE_REQUIRED' })
    await expect(loadOrCreatePendingDevice(dir, { passphrase: 'wrong' })).rejects.toMatchObject({ code: 'ERR_WRONG_PASSPHRASE' })
    expect(await loadOrCreatePendingDevice(dir, { passphrase: 'correct horse' })).toEqual(pending)
    await completePendingDevice(dir, pending, attest(pending, 1_000), { passphrase: 'correct horse' })
    await expect(loadIdentity(dir)).rejects.toMatchObject({ code: 'ERR_PASSPHRASE_REQUIRED' })
    expect(await loadIdentity(dir, { passphrase: 'correct horse' })).toMatchObject({ userId, deviceId: pending.deviceId, encrypted: true })
  })
})
