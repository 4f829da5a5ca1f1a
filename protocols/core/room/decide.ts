/**
 * What a node does with a received event: accept it, reject it, or soft-fail it — the Matrix
 * "Checks performed on receipt of a PDU" (server-server API), steps 4–6:
 *
 * > 4. Passes authorization rules based on the event's auth events, otherwise it is rejected.
 * > 5. Passes authorization rules based on the state before the event, otherwise it is rejected.
 * > 6. Passes authorization rules based on the current state of the room, otherwise it is
 * >    "soft failed".
 *
 * Steps 1–3 (valid event, signature by the UDK it names, content hash) are the ingest checks
 * (events `checkEventIntegrity`), run before; an event whose hash failed arrives here redacted.
 *
 * keyroom.1 details:
 * - Each step is {@link checkRoomAuth}: the Matrix rules with keyroom's overrides, then the
 *   keyroom additions (the signer attested and unrevoked in that state, MSC3917 fields). Step 4
 *   also runs the rules about the `auth_events` list (the auth module's `checkAuthEvents`, whose
 *   selection includes keyroom.1's signing-device record and invite links).
 * - Step 6 judges the signing device at `now`: an attestation that has expired by now, or a
 *   revocation in force by now, soft-fails the event even when its own timestamp is earlier — a
 *   lost device cannot keep talking by back-dating. Old events that arrive late from a device
 *   revoked since are soft-failed too: hidden and not built upon, but kept in the DAG (Matrix
 *   soft-failure semantics), so state resolution still sees them.
 * - Step 6 is skipped when no current state is given (backfilled history, outliers: Matrix
 *   soft-fails only live events).
 */
import { checkAuthEvents, parsePdu } from '../auth/index.js'
import type { AuthStateLookup } from '../auth/index.js'
import { eventIdFor } from '../events/index.js'
import { roomVersionRules, KEYROOM_ROOM_VERSION } from '../room-versions.js'
import type { AttestationCache } from './attestation-cache.js'
import { authStateOfAuthEvents, checkRoomAuth } from './room-auth.js'
import type { RoomEvent } from './types.js'

/** The outcome of {@link decide}. */
export type Decision =
  | { readonly outcome: 'accepted' }
  | { readonly outcome: 'rejected', readonly rule: string, readonly against: 'event' | 'auth-events' | 'state-before' }
  | { readonly outcome: 'soft-failed', readonly rule: string, readonly against: 'current-state' }

/** What {@link decide} needs from the node. */
export interface DecideContext {
  /** The room version (keyroom.1 by default). */
  roomVersion?: string
  /** The event's ID if known (saves recomputing the reference hash). */
  eventId?: string
  /** Stored events by ID: the event's auth events are read through it. */
  getEvent: (eventId: string) => object | undefined
  /** Whether a stored event was rejected (its dependants are then rejected too). */
  isRejected?: (eventId: string) => boolean
  /** The state before the event: the resolution of the states after its `prev_events`. */
  stateBefore: AuthStateLookup
  /** The room's current state; omit for backfilled events (no soft-fail check). */
  currentState?: AuthStateLookup
  /** The current time (ms): attestation expiry and revocations for the soft-fail check. */
  now: number
  /** Verified-statement cache. */
  attestations?: AttestationCache
}

/**
 * Decides a received event (Matrix receipt checks 4–6; see the module comment).
 *
 * @param event - the event as received (after the ingest checks), with its `signatures`.
 */
export function decide (event: RoomEvent, context: DecideContext): Decision {
  const roomVersion = context.roomVersion ?? KEYROOM_ROOM_VERSION
  const rules = roomVersionRules(roomVersion)
  const eventId = context.eventId ?? eventIdFor(event, roomVersion)
  const parsed = parsePdu(event, eventId)
  if (!parsed.ok) return { outcome: 'rejected', rule: `malformed: ${parsed.reason}`, against: 'event' }
  // The parsed view keeps `signatures`: the keyroom rules and the auth events selection read the signer.
  const pdu = parsed.pdu
  const attestations = context.attestations === undefined ? {} : { attestations: context.attestations }

  // 4. The event's own auth events.
  const source = context.isRejected === undefined ? { getEvent: context.getEvent } : { getEvent: context.getEvent, isRejected: context.isRejected }
  const listed = checkAuthEvents(rules, pdu, source)
  if (!listed.ok) return { outcome: 'rejected', rule: listed.rule, against: 'auth-events' }
  const own = checkRoomAuth(rules, pdu, authStateOfAuthEvents(rules, pdu, source), attestations)
  if (!own.ok) return { outcome: 'rejected', rule: own.rule, against: 'auth-events' }

  // 5. The state before the event.
  const before = checkRoomAuth(rules, pdu, context.stateBefore, attestations)
  if (!before.ok) return { outcome: 'rejected', rule: before.rule, against: 'state-before' }

  // 6. The current state, judged now.
  if (context.currentState !== undefined) {
    const current = checkRoomAuth(rules, pdu, context.currentState, { ...attestations, now: context.now })
    if (!current.ok) return { outcome: 'soft-failed', rule: current.rule, against: 'current-state' }
  }
  return { outcome: 'accepted' }
}

/** What {@link passesInState} needs. */
export interface StateCheckContext {
  roomVersion?: string
  eventId?: string
  /** The state to judge the event in. */
  state: AuthStateLookup
  /** Judges the signing device at this time (as the soft-fail check does); omitted: at the event's own time. */
  now?: number
  attestations?: AttestationCache
}

/**
 * Whether an event passes the room's rules in a given state — the check of {@link decide}'s step 6
 * against any state. A node uses it to ask whether an event it accepted earlier would be
 * soft-failed by a node that learnt of a concurrent branch first.
 */
export function passesInState (event: RoomEvent, context: StateCheckContext): { ok: true } | { ok: false, rule: string } {
  const roomVersion = context.roomVersion ?? KEYROOM_ROOM_VERSION
  const rules = roomVersionRules(roomVersion)
  const parsed = parsePdu(event, context.eventId ?? eventIdFor(event, roomVersion))
  if (!parsed.ok) return { ok: false, rule: `malformed: ${parsed.reason}` }
  const options = {
    ...(context.attestations === undefined ? {} : { attestations: context.attestations }),
    ...(context.now === undefined ? {} : { now: context.now })
  }
  const result = checkRoomAuth(rules, parsed.pdu, context.state, options)
  return result.ok ? { ok: true } : { ok: false, rule: result.rule }
}
