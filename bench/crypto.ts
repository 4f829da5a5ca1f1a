/**
 * Foundation benchmarks: raw ed25519 verification on both backends, and the full ingest checks
 * of a realistic keyroom.1 event (strict parse, content hash, signature, event ID), with the
 * ratio of ingest-check throughput to raw native verify throughput (target ≥ 0.8 on one core).
 */
import {
  canonicalJsonBytes, checkEventIntegrity, deviceKeyPair, parseDeviceId, parseJson, signBytes,
  signEvent, userKeyPair, roomKeyPair, verifySignature, isBackendAvailable
} from '../protocols/core/index.js'
import { measure, measureInterleaved, ratio, report } from './harness.js'

function seed (n: number): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => (i * 31 + n * 7 + 1) & 0xff)
}

/** A keyroom.1 message event of about 1 KiB, signed by a device key. */
export function realisticEventBytes (): Uint8Array {
  const user = userKeyPair(seed(1))
  const device = deviceKeyPair(seed(2))
  const room = roomKeyPair(seed(3))
  const event = {
    room_id: room.roomId,
    type: 'm.room.message',
    sender: user.userId,
    content: {
      msgtype: 'm.text',
      body: 'The quick brown fox jumps over the lazy dog. '.repeat(16),
      'm.mentions': { user_ids: [user.userId] }
    },
    prev_events: ['$' + 'A'.repeat(43), '$' + 'B'.repeat(43)],
    auth_events: ['$' + 'C'.repeat(43), '$' + 'D'.repeat(43), '$' + 'E'.repeat(43), '$' + 'F'.repeat(43)],
    depth: 1234,
    origin_server_ts: 1_790_000_000_000,
    unsigned: { age: 12 }
  }
  return canonicalJsonBytes(signEvent(event, device.deviceId, 'ed25519', device.seed, 'keyroom.1'))
}

export function runCryptoBench (): void {
  console.log('\n# Foundation: ed25519 and ingest checks (one core)')
  const device = deviceKeyPair(seed(2))
  const message = new Uint8Array(1024).fill(7)
  const sig = signBytes(device.seed, message)

  const bytes = realisticEventBytes()
  const publicKeyFor = (entity: string, keyId: string): Uint8Array | undefined =>
    keyId === 'ed25519' && entity.startsWith('^') ? parseDeviceId(entity) : undefined
  // Native verify and the ingest checks run in alternating batches so both see the same load;
  // the ratio compares median per-operation costs.
  const [native, ingest] = measureInterleaved(
    {
      name: 'ed25519 verify, native (node:crypto, cached key)',
      fn: () => { if (!verifySignature(device.publicKey, message, sig, { backend: 'native' })) throw new Error('verify failed') }
    },
    {
      name: `ingest checks, ${bytes.length}-byte event (parse+hash+sig+id)`,
      fn: () => {
        const result = checkEventIntegrity(parseJson(bytes) as object, 'keyroom.1', { publicKeyFor })
        if (!result.ok) throw new Error('integrity failed: ' + result.reason)
      }
    },
    { budgetMs: 3000 }
  )
  report(native)
  const portable = measure('ed25519 verify, portable (@noble/ed25519)', () => {
    if (!verifySignature(device.publicKey, message, sig, { backend: 'portable' })) throw new Error('verify failed')
  }, { batch: 20, budgetMs: 1500 })
  report(portable)
  report(ingest)

  ratio('portable / native verify rate', native.p50us / portable.p50us, '(info)', true)
  const r = native.p50us / ingest.p50us
  ratio('ingest checks / native verify rate (median)', r, '≥ 0.8', r >= 0.8)
  if (!isBackendAvailable('native')) console.log('  (native backend unavailable in this runtime)')
}
