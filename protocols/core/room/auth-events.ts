/**
 * Which state events an event lists in `auth_events` (server-server API, "Auth events
 * selection"), with keyroom.1's additions (docs/protocol.md "Events").
 *
 * Matrix:
 * > - The `m.room.create` event. [keyroom.1 keeps it, as room versions ≤ 11 do: the room ID does
 * >   not derive from the create event.]
 * > - The current `m.room.power_levels` event, if any.
 * > - The sender's current `m.room.member` event, if any.
 * > - If type is `m.room.member`:
 * >   - The target's current `m.room.member` event, if any.
 * >   - If `membership` is `join`, `invite` or `knock`, the current `m.room.join_rules` event, if any.
 * >   - If membership is `invite` and `content` contains a `third_party_invite` property, the
 * >     current `m.room.third_party_invite` event with `state_key` matching
 * >     `content.third_party_invite.signed.token`, if any.
 * >   - If `content.join_authorised_via_users_server` is present, and the room version supports
 * >     restricted rooms, then the `m.room.member` event with `state_key` matching
 * >     `content.join_authorised_via_users_server`.
 *
 * keyroom.1 adds:
 * - a `join` carrying an invite-link claim (`third_party_invite.signed`) lists the link's
 *   `m.room.third_party_invite` event, as a Matrix 3pid `invite` does;
 * - the `keyroom.device` event whose state key is the signing UDK, if any: it is where the
 *   signer's attestation (or revocation) lives. When the attestation is in the sender's join, that
 *   event is already listed; when the event introduces its own signer, nothing more is needed.
 */
import { RoomEventType } from './constants.js'
import { own, ownString } from './event-fields.js'
import type { RoomStateView } from './types.js'

/** A `(type, state_key)` pair. */
export interface AuthEventKey {
  type: string
  stateKey: string
}

/** The draft fields the selection reads. */
export interface AuthSelectionInput {
  type: string
  sender: string
  state_key?: string | undefined
  content: Readonly<Record<string, unknown>>
}

/**
 * The `(type, state_key)` pairs an event's `auth_events` are drawn from, in the order above,
 * without duplicates.
 *
 * @param event - the event being built (its type, sender, state key and content).
 * @param signerDeviceId - the UDK that signs it.
 */
export function authEventPairs (event: AuthSelectionInput, signerDeviceId: string): AuthEventKey[] {
  const pairs: AuthEventKey[] = []
  const add = (type: string, stateKey: string): void => {
    if (!pairs.some((p) => p.type === type && p.stateKey === stateKey)) pairs.push({ type, stateKey })
  }
  if (event.type === RoomEventType.Create) return pairs
  add(RoomEventType.Create, '')
  add(RoomEventType.PowerLevels, '')
  add(RoomEventType.Member, event.sender)
  if (event.type === RoomEventType.Member && typeof event.state_key === 'string') {
    add(RoomEventType.Member, event.state_key)
    const membership = ownString(event.content, 'membership')
    if (membership === 'join' || membership === 'invite' || membership === 'knock') add(RoomEventType.JoinRules, '')
    if (membership === 'invite' || membership === 'join') {
      const token = ownString(own(own(event.content, 'third_party_invite'), 'signed'), 'token')
      if (token !== undefined) add(RoomEventType.ThirdPartyInvite, token)
    }
    const via = ownString(event.content, 'join_authorised_via_users_server')
    if (via !== undefined) add(RoomEventType.Member, via)
  }
  add(RoomEventType.Device, signerDeviceId)
  return pairs
}

/** The event IDs of {@link authEventPairs} that exist in `state`. */
export function selectAuthEvents (state: RoomStateView, event: AuthSelectionInput, signerDeviceId: string): string[] {
  const ids: string[] = []
  for (const { type, stateKey } of authEventPairs(event, signerDeviceId)) {
    const entry = state.entry(type, stateKey)
    if (entry !== undefined) ids.push(entry.eventId)
  }
  return ids
}
