/**
 * The identity directory (the DHT, `protocols/identity-dht/`) behind the node's
 * {@link DeviceDirectory} port, and the publishing of the node's own user record.
 */
import { createUserRecord } from '../protocols/identity-dht/index.js'
import type { DeviceDirectory, DirectoryDevice } from './peer-directory.js'
import type { AttestationJson, RevocationJson } from '../protocols/core/index.js'
import type { IdentityDirectory } from '../protocols/identity-dht/index.js'
import type { AbortOptions } from '@libp2p/interface'

/** A user's devices as the DHT record lists them: attested ones, with their expiry and revocation. */
export function dhtDeviceDirectory (directory: Pick<IdentityDirectory, 'lookup'>): DeviceDirectory {
  return {
    async devicesOf (userId: string, options: AbortOptions = {}): Promise<DirectoryDevice[]> {
      const found = await directory.lookup(userId, { ...options, addresses: false })
      if (found === undefined) return []
      const attestations = new Map(found.record.devices.map(a => [a.udk, a.json]))
      const out: DirectoryDevice[] = []
      for (const device of found.devices) {
        if (!device.attested) continue
        const entry: DirectoryDevice = { deviceId: device.deviceId, revoked: device.revoked }
        const attestation = attestations.get(device.deviceId)
        if (attestation !== undefined) entry.attestation = attestation
        if (device.expiresTs !== undefined) entry.expiresTs = device.expiresTs
        out.push(entry)
      }
      return out
    }
  }
}

/**
 * Publishes the user's record with this device in it: the newest record the DHT has for the user
 * (so the user's other devices and revocations are kept), plus this device's attestation, under the
 * next `seq`. Needs the UPK seed (a device that does not keep it cannot sign the record). When the
 * DHT already lists this very attestation, nothing new is signed: the directory re-publishes what it
 * has. Returns the `seq` published, or `undefined` when nothing was needed.
 */
export async function publishOwnDevice (
  directory: Pick<IdentityDirectory, 'lookup' | 'publish'>,
  own: { userId: string, upkSeed: Uint8Array, attestation: AttestationJson },
  options: AbortOptions = {}
): Promise<number | undefined> {
  const found = await directory.lookup(own.userId, { ...options, maxAge: 0, addresses: false })
  const revoked = new Set(found?.record.revocations.map(r => r.udk) ?? [])
  if (revoked.has(own.attestation.udk)) return undefined
  const devices = new Map<string, AttestationJson>()
  for (const attestation of found?.record.devices ?? []) if (!revoked.has(attestation.udk)) devices.set(attestation.udk, attestation.json)
  const listed = devices.get(own.attestation.udk)
  if (listed !== undefined && JSON.stringify(listed) === JSON.stringify(own.attestation)) {
    // Already there: keep it alive from this device too.
    await directory.publish(found!.record.bytes, options)
    return undefined
  }
  devices.set(own.attestation.udk, own.attestation)
  const revocations: RevocationJson[] = found?.record.revocations.map(r => r.json) ?? []
  const seq = (found?.seq ?? 0) + 1
  await directory.publish(createUserRecord({ upkSeed: own.upkSeed, seq, devices: [...devices.values()], revocations }), options)
  return seq
}
