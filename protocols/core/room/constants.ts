/**
 * Names used by the keyroom.1 room logic: event types, MSC3917 content fields (no unstable
 * prefixes, docs/protocol.md "MSC3917 fields"), key IDs and policy limits.
 */

/** Matrix and keyroom event types the room logic builds or reads. */
export const RoomEventType = {
  Create: 'm.room.create',
  Member: 'm.room.member',
  PowerLevels: 'm.room.power_levels',
  JoinRules: 'm.room.join_rules',
  HistoryVisibility: 'm.room.history_visibility',
  ThirdPartyInvite: 'm.room.third_party_invite',
  Name: 'm.room.name',
  Topic: 'm.room.topic',
  Message: 'm.room.message',
  Redaction: 'm.room.redaction',
  SpaceChild: 'm.space.child',
  /** keyroom.1: a device attestation or revocation; state key = the UDK. */
  Device: 'keyroom.device'
} as const

/** MSC3917 content fields (without the `org.matrix.msc3917.v1` prefix). */
export const ContentField = {
  RoomRootKey: 'room_root_key',
  CreatorKey: 'creator_key',
  SenderKey: 'sender_key',
  ParentEventId: 'parent_event_id',
  UserKey: 'user_key',
  Attestation: 'attestation',
  Revocation: 'revocation',
  PublicKey: 'public_key',
  ThirdPartyInvite: 'third_party_invite',
  MembershipEvents: 'membership_events'
} as const

/**
 * Key ID of the one UDK signature on every event (docs/protocol.md: `signatures: {"^udk…":
 * {"ed25519": "…"}}`).
 */
export const EVENT_KEY_ID = 'ed25519'

/** MSC3917: "the entity performing the signature is the room ID, and the key identifier is `rrk`". */
export const RRK_KEY_ID = 'ed25519:rrk'

/** Key ID of the invite-link key's signature over the join's `third_party_invite.signed`. */
export const LINK_KEY_ID = 'ed25519'

/**
 * Most events accepted in a restricted join's `unsigned.membership_events`. A proof is a chain
 * of full signed events (join → invite → inviter's join → … → create) that must fit in one PDU
 * (65,536 bytes, server-server API "Size limits"); a member event with its attestation is
 * roughly 1 KiB, so 64 is as many as can fit, and it bounds the work one join can demand.
 */
export const MAX_MEMBERSHIP_PROOF_EVENTS = 64
