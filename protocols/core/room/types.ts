/**
 * Shapes shared by the keyroom.1 room logic: events as the room code reads them, state lookups,
 * the signing device, and auth outcomes.
 */
import type { AttestationJson, UserId } from '../identity/index.js'

/**
 * The part of an event the authorization checks read. Both a full {@link RoomEvent} and the
 * auth module's `PduLike` view fit it (the latter needs `signatures` for the event being checked:
 * the keyroom rules ask who signed).
 */
export interface EventView {
  readonly type: string
  readonly room_id?: string | undefined
  readonly sender: string
  readonly state_key?: string | undefined
  readonly content: Readonly<Record<string, unknown>>
  readonly origin_server_ts: number
  readonly signatures?: unknown
}

/**
 * A room event (PDU) as the room code reads it (docs/protocol.md "Events"; server-server API
 * "PDUs"). Events reach this code after the ingest checks (well-formed, hash, signature by the
 * UDK it names, ID), so the top-level fields have these types; `content` and `unsigned` are still
 * untrusted data and are read field by field with own-property checks.
 */
export interface RoomEvent extends EventView {
  readonly type: string
  readonly room_id: string
  readonly sender: string
  readonly state_key?: string
  readonly content: Readonly<Record<string, unknown>>
  readonly origin_server_ts: number
  readonly depth: number
  readonly prev_events: readonly string[]
  readonly auth_events: readonly string[]
  readonly hashes?: Readonly<Record<string, string>>
  readonly signatures?: Readonly<Record<string, Readonly<Record<string, string>>>>
  readonly unsigned?: Readonly<Record<string, unknown>>
  /** Pre-v11 place of a redaction's target (keyroom.1 puts it in `content.redacts`). */
  readonly redacts?: string
}

/** An event together with its event ID (the reference hash; events/hashes.ts `eventIdFor`). */
export interface IdentifiedEvent {
  readonly eventId: string
  readonly event: RoomEvent
}

/** A state lookup: the event at `(type, stateKey)` in some state, or `undefined`. */
export type StateLookup = (type: string, stateKey: string) => EventView | undefined

/** A state view that also knows event IDs (what builders need to fill `auth_events`). */
export interface RoomStateView {
  /** The event at `(type, stateKey)` with its ID, or `undefined`. */
  entry: (type: string, stateKey: string) => IdentifiedEvent | undefined
}

/**
 * The device that signs an event: the user's UPK (as `userId`), this device's UDK seed, and the
 * attestation of that UDK by the UPK (identity `createAttestation`).
 */
export interface SigningDevice {
  readonly userId: UserId
  readonly deviceSeed: Uint8Array
  readonly attestation: AttestationJson
}

/** The outcome of an authorization check: allowed, or the rule that refused it. */
export type AuthOutcome = { ok: true } | { ok: false, rule: string }
