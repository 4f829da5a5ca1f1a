import { describe, expect, it } from 'vitest'
import { checkEventBytes, identifyEvent } from '../../node/ingest-checks.js'
import {
  RoomTimeline, buildCreateRoom, buildMessage, canonicalJsonBytes, scenarioSeed, scenarioUser, signEventWithId, deviceKeyPair
} from '../../node/index.js'
import type { IdentifiedEvent } from '../../node/index.js'

const alice = scenarioUser('ingest/alice')
const created = buildCreateRoom({ device: alice.device, rrkSeed: scenarioSeed('ingest/room'), originServerTs: 1_000 })
const timeline = new RoomTimeline(created.roomId, { state: created.state, prevEvents: created.next.prevEvents, depth: created.next.depth })
const message: IdentifiedEvent = buildMessage(alice.device, timeline.context(), { originServerTs: 2_000, body: 'hi' })
const bytes = canonicalJsonBytes(message.event)

function resign (fields: Record<string, unknown>): Uint8Array {
  const { signatures: _s, hashes: _h, ...rest } = { ...message.event, ...fields } as Record<string, unknown>
  const deviceId = deviceKeyPair(alice.device.deviceSeed).deviceId
  return canonicalJsonBytes(signEventWithId(rest, deviceId, 'ed25519', alice.device.deviceSeed, 'keyroom.1').event)
}

describe('checkEventBytes', () => {
  it('accepts a genuine event and names it by its reference hash', () => {
    const check = checkEventBytes(bytes, { eventId: message.eventId, roomId: created.roomId })
    expect(check).toMatchObject({ ok: true, checked: { eventId: message.eventId } })
    expect(identifyEvent(bytes)).toEqual({ eventId: message.eventId, roomId: created.roomId })
  })

  it('refuses bytes that are not the canonical JSON of the event', () => {
    const spaced = new TextEncoder().encode(JSON.stringify(message.event, null, 1))
    expect(checkEventBytes(spaced)).toMatchObject({ ok: false, reason: 'not a canonical JSON object' })
    expect(identifyEvent(spaced)).toBeUndefined()
  })

  it('refuses altered content (the content hash no longer matches), and identify will not name it', () => {
    const altered = canonicalJsonBytes({ ...message.event, content: { msgtype: 'm.text', body: 'changed' } })
    expect(checkEventBytes(altered)).toMatchObject({ ok: false, reason: expect.stringMatching(/^bad-hash/) })
    expect(identifyEvent(altered)).toBeUndefined()
  })

  it('refuses a signature that does not verify, and a signer that is not a device', () => {
    const event = message.event as unknown as { signatures: Record<string, Record<string, string>> }
    const [signer] = Object.keys(event.signatures)
    const forged = canonicalJsonBytes({ ...message.event, signatures: { [signer!]: { ed25519: 'A'.repeat(86) } } })
    expect(checkEventBytes(forged)).toMatchObject({ ok: false, reason: expect.stringMatching(/^bad-signature/) })
    const byRoom = canonicalJsonBytes({ ...message.event, signatures: { [created.roomId]: { ed25519: event.signatures[signer!]!.ed25519! } } })
    expect(checkEventBytes(byRoom)).toMatchObject({ ok: false, reason: expect.stringMatching(/^missing-signature/) })
  })

  it('refuses the wrong ID, the wrong room, and malformed DAG fields', () => {
    expect(checkEventBytes(bytes, { eventId: '$other' })).toMatchObject({ ok: false, reason: expect.stringMatching(/^event-id-mismatch/) })
    expect(checkEventBytes(bytes, { roomId: '!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })).toMatchObject({ ok: false, reason: expect.stringMatching(/^room_id/) })
    const manyPrevs = Array.from({ length: 21 }, (_, i) => `$p${i}`)
    expect(checkEventBytes(resign({ prev_events: manyPrevs }))).toMatchObject({ ok: false, reason: expect.stringMatching(/prev_events/) })
    expect(checkEventBytes(resign({ depth: 0 }))).toMatchObject({ ok: false, reason: expect.stringMatching(/depth/) })
    expect(checkEventBytes(resign({ prev_events: ['$a', '$a'] }))).toMatchObject({ ok: false, reason: expect.stringMatching(/twice/) })
    expect(checkEventBytes(resign({ room_id: 'not-a-room' }))).toMatchObject({ ok: false, reason: expect.stringMatching(/room_id/) })
  })

  it('refuses events over 65536 bytes before parsing them', () => {
    const big = new Uint8Array(65_537).fill(0x20)
    expect(checkEventBytes(big)).toMatchObject({ ok: false, reason: expect.stringMatching(/exceeds/) })
  })
})
