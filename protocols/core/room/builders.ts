/**
 * Builders of keyroom.1 events: pure functions that return signed events ready to gossip.
 *
 * Every builder takes the signing device (`{ userId, deviceSeed, attestation }`), the room context
 * (room ID, `prev_events`, `depth`, and the current state, from which `auth_events` and MSC3917
 * parents are drawn) and `originServerTs` (the core has no clock). Each returns the event and its
 * ID (`{ eventId, event }`), signed by the device's UDK as the Matrix "signing events" procedure
 * says (events `signEventWithId`: content hash, then a signature over the redacted form).
 *
 * MSC3917 fields (docs/protocol.md "MSC3917 fields") are filled in from the device and the state:
 * `sender_key` is always the signing device's attestation; `parent_event_id` is the sender's
 * cause-of-membership event (their join, or the create event for the creator) for invites, join
 * rules, invite links and space children, and for a join the event that allowed it.
 *
 * Builders refuse misuse with `ERR_INVALID_EVENT` (e.g. inviting while not joined, joining by
 * invite without one) and a device whose attestation does not name its own keys with
 * `ERR_INVALID_KEY_MATERIAL`. They do not run the auth rules: the caller hands the result to
 * `decide` like any received event.
 */
import { ErrorCode, KeyroomError } from '../errors.js'
import { signJson } from '../signing/index.js'
import { signEventWithId } from '../events/index.js'
import { deviceKeyPair, formatRoomId, roomKeyPair } from '../identity/index.js'
import type { AttestationJson, RevocationJson, RoomId, UserId } from '../identity/index.js'
import { KEYROOM_ROOM_VERSION } from '../room-versions.js'
import { selectAuthEvents } from './auth-events.js'
import { EVENT_KEY_ID, RoomEventType, ContentField, RRK_KEY_ID } from './constants.js'
import { membershipOf, own, ownString, rootKeyText } from './event-fields.js'
import { inviteLinkKeys, signInviteLinkClaim } from './invite-link.js'
import { RoomState } from './room-state.js'
import type { IdentifiedEvent, RoomEvent, RoomStateView, SigningDevice } from './types.js'

/** Where a new event goes: the room, its DAG tips, its depth and the current state. */
export interface RoomContext {
  readonly roomId: RoomId
  /** The forward extremities the event follows. */
  readonly prevEvents: readonly string[]
  /** `depth` of the new event: one more than the deepest prev event. */
  readonly depth: number
  /** The current state: the source of `auth_events` and MSC3917 parents. */
  readonly state: RoomStateView
}

/** What every builder needs besides the device and the context. */
export interface BuildOptions {
  /** `origin_server_ts` of the new event (milliseconds since the Unix epoch). */
  originServerTs: number
}

/** The fields of a draft event before `room_id`, `sender`, DAG fields and signatures. */
export interface EventDraft {
  type: string
  state_key?: string
  content: Record<string, unknown>
  unsigned?: Record<string, unknown>
}

// The UDK of a device is derived from its seed once per device object (ed25519 key derivation is
// a scalar multiplication: worth not repeating for every event).
const deviceIds = new WeakMap<SigningDevice, string>()

/**
 * The device ID (UDK) of a signing device, checked against its attestation: the attestation must
 * be by `userId` and about this very key.
 */
export function signingDeviceId (device: SigningDevice): string {
  let id = deviceIds.get(device)
  if (id === undefined) {
    id = deviceKeyPair(device.deviceSeed).deviceId
    if (device.attestation.udk !== id || device.attestation.upk !== device.userId) {
      throw new KeyroomError(ErrorCode.InvalidKeyMaterial,
        'the signing device\'s attestation does not attest this device key for this user', {
          hint: 'pass the attestation made for this device by this user (identity createAttestation)'
        })
    }
    deviceIds.set(device, id)
  }
  return id
}

function misuse (message: string): KeyroomError {
  return new KeyroomError(ErrorCode.InvalidEvent, message)
}

/**
 * Signs a draft as `device` in `context`: fills `room_id`, `sender`, `origin_server_ts`, `depth`,
 * `prev_events` and `auth_events` (Matrix selection plus the signer's attestation event), then
 * hashes and signs. The generic builder under all the named ones.
 */
export function buildEvent (device: SigningDevice, context: RoomContext, draft: EventDraft, options: BuildOptions): IdentifiedEvent {
  const deviceId = signingDeviceId(device)
  const event: Record<string, unknown> = {
    type: draft.type,
    room_id: context.roomId,
    sender: device.userId,
    content: draft.content,
    origin_server_ts: options.originServerTs,
    depth: context.depth,
    prev_events: [...context.prevEvents],
    auth_events: selectAuthEvents(context.state, { type: draft.type, sender: device.userId, state_key: draft.state_key, content: draft.content }, deviceId)
  }
  if (draft.state_key !== undefined) event.state_key = draft.state_key
  if (draft.unsigned !== undefined) event.unsigned = draft.unsigned
  const signed = signEventWithId(event, deviceId, EVENT_KEY_ID, device.deviceSeed, KEYROOM_ROOM_VERSION)
  return { eventId: signed.eventId, event: signed.event as RoomEvent }
}

/**
 * The cause-of-membership event of `userId` in `state` (MSC3917: "a `join` event or
 * `m.room.create` event that made a user a purported member of a room"): the create event for
 * the creator, else their current join.
 */
export function causeOfMembership (state: RoomStateView, userId: UserId): string {
  const create = state.entry(RoomEventType.Create, '')
  if (create === undefined) throw misuse('the room state has no m.room.create event')
  if (own(create.event.content, ContentField.CreatorKey) === userId) return create.eventId
  const member = state.entry(RoomEventType.Member, userId)
  if (member === undefined || membershipOf(member.event) !== 'join') {
    throw misuse(`${userId} is not joined to the room, so it has no cause-of-membership event to cite`)
  }
  return member.eventId
}

/** The MSC3917 fields every sender-signed state event carries. */
function senderFields (device: SigningDevice, context: RoomContext): Record<string, unknown> {
  return { [ContentField.SenderKey]: device.attestation, [ContentField.ParentEventId]: causeOfMembership(context.state, device.userId) }
}

// ---------------------------------------------------------------------------------------------
// Creating a room

/** What {@link buildCreateRoom} needs. */
export interface CreateRoomInput extends BuildOptions {
  /** The creator's signing device. */
  device: SigningDevice
  /** Seed of the Room Root Key; the room ID is `!` + its public key. Made by the caller. */
  rrkSeed: Uint8Array
  /** Join rule of the new room (default `invite`). */
  joinRule?: 'invite' | 'public' | 'restricted' | 'knock'
  /** For `restricted`: the rooms whose members may join. */
  allowRooms?: readonly RoomId[]
  /** `m.room.history_visibility` (default `shared`). */
  historyVisibility?: 'invited' | 'joined' | 'shared' | 'world_readable'
  /** Power levels content to merge over the defaults below. */
  powerLevels?: Record<string, unknown>
  /** Extra create content (e.g. `{ type: 'm.space' }`); MSC3917 fields cannot be overridden. */
  creationContent?: Record<string, unknown>
  /** v12 `additional_creators` (MSC4289): UPKs with creator privileges. */
  additionalCreators?: readonly UserId[]
  /** Optional name and topic events. */
  name?: string
  topic?: string
  /** The creator's display name in their join. */
  displayName?: string
}

/** A newly created room: its ID, its initial events in DAG order, and the state after them. */
export interface CreatedRoom {
  roomId: RoomId
  events: IdentifiedEvent[]
  state: RoomState
  /** The context for the next event (tips = the last initial event). */
  next: RoomContext
}

/**
 * Default power levels of a new room. Room version 12 (MSC4289): "the creator is not listed in
 * `users`" — creators have unbounded power through the create event. Matrix's client-server
 * `createRoom` defaults otherwise (state 50, moderation 50, invite 0 → here 50: in a room whose
 * membership is a signature tree, inviting is a moderator's act by default). `keyroom.device`
 * needs no entry: device records are exempt from the power levels (room-auth.ts).
 */
export const DEFAULT_POWER_LEVELS: Readonly<Record<string, unknown>> = Object.freeze({
  users: {},
  users_default: 0,
  events: {
    'm.room.name': 50,
    'm.room.power_levels': 100,
    'm.room.history_visibility': 100,
    'm.room.canonical_alias': 50,
    'm.room.avatar': 50,
    'm.room.tombstone': 150,
    'm.room.server_acl': 100,
    'm.room.encryption': 100,
    'm.space.child': 50
  },
  events_default: 0,
  state_default: 50,
  ban: 50,
  kick: 50,
  redact: 50,
  invite: 50
})

/**
 * A timeline for building a chain of events: tracks the tips, the depth and the state. Each
 * {@link RoomTimeline.add} makes the added event the only tip. Scenarios and the create-room
 * builder use it; a node tracks its DAG itself.
 */
export class RoomTimeline {
  readonly state: RoomState
  private tips: string[]
  private nextDepth: number

  constructor (readonly roomId: RoomId, init: { state?: RoomState, prevEvents?: readonly string[], depth?: number } = {}) {
    this.state = init.state ?? new RoomState()
    this.tips = [...(init.prevEvents ?? [])]
    this.nextDepth = init.depth ?? 1
  }

  /** The context for the next event. */
  context (): RoomContext {
    return { roomId: this.roomId, prevEvents: this.tips, depth: this.nextDepth, state: this.state }
  }

  /** Appends a built event: it becomes the tip, and its state applies. */
  add (entry: IdentifiedEvent): IdentifiedEvent {
    this.tips = [entry.eventId]
    this.nextDepth = Math.max(this.nextDepth, entry.event.depth + 1)
    this.state.apply(entry)
    return entry
  }
}

/**
 * Creates a room from an RRK seed (MSC3917 "Rooms as Keys"): the room ID is `!` + the RRK; the
 * create content carries `room_root_key`, `creator_key`, the creator's attestation as
 * `sender_key` and the RRK's signature over the content. Then the initial events a room needs, in
 * the order Matrix's `createRoom` sends them: the creator's join (parent = the create event),
 * power levels, join rules, history visibility, and name/topic when given.
 */
export function buildCreateRoom (input: CreateRoomInput): CreatedRoom {
  const { device } = input
  const rrk = roomKeyPair(input.rrkSeed)
  const roomId = formatRoomId(rrk.publicKey)
  const timeline = new RoomTimeline(roomId)
  const ts = { originServerTs: input.originServerTs }

  const content: Record<string, unknown> = { ...input.creationContent }
  content.room_version = KEYROOM_ROOM_VERSION
  content[ContentField.RoomRootKey] = rootKeyText(roomId)
  content[ContentField.CreatorKey] = device.userId
  content[ContentField.SenderKey] = device.attestation
  if (input.additionalCreators !== undefined) content.additional_creators = [...input.additionalCreators]
  delete content.signatures
  const signedContent = signJson(content, roomId, RRK_KEY_ID, input.rrkSeed)
  const events: IdentifiedEvent[] = []
  const push = (entry: IdentifiedEvent): void => { events.push(timeline.add(entry)) }

  push(buildEvent(device, timeline.context(), { type: RoomEventType.Create, state_key: '', content: signedContent }, ts))
  push(buildJoin(device, timeline.context(), { ...ts, via: { kind: 'creator' }, displayName: input.displayName }))
  push(buildPowerLevels(device, timeline.context(), { ...ts, content: { ...DEFAULT_POWER_LEVELS, ...input.powerLevels } }))
  push(buildJoinRules(device, timeline.context(), { ...ts, joinRule: input.joinRule ?? 'invite', allowRooms: input.allowRooms }))
  push(buildEvent(device, timeline.context(), {
    type: RoomEventType.HistoryVisibility, state_key: '', content: { history_visibility: input.historyVisibility ?? 'shared' }
  }, ts))
  if (input.name !== undefined) push(buildName(device, timeline.context(), { ...ts, name: input.name }))
  if (input.topic !== undefined) push(buildTopic(device, timeline.context(), { ...ts, topic: input.topic }))
  return { roomId, events, state: timeline.state, next: timeline.context() }
}

// ---------------------------------------------------------------------------------------------
// Membership

/** Invites `target` (MSC3917: `user_key`, `room_root_key`, `sender_key`, `parent_event_id` = the inviter's cause). */
export function buildInvite (device: SigningDevice, context: RoomContext, input: BuildOptions & { target: UserId, reason?: string }): IdentifiedEvent {
  const content: Record<string, unknown> = {
    membership: 'invite',
    [ContentField.UserKey]: input.target,
    [ContentField.RoomRootKey]: rootKeyText(context.roomId),
    ...senderFields(device, context)
  }
  if (input.reason !== undefined) content.reason = input.reason
  return buildEvent(device, context, { type: RoomEventType.Member, state_key: input.target, content }, input)
}

/** How a join is allowed; decides its `parent_event_id` (docs/protocol.md). */
export type JoinVia =
  /** The creator's own first join: parent = the create event. */
  | { kind: 'creator' }
  /** Through the invite in the current state: parent = that invite. */
  | { kind: 'invite' }
  /** Through a `public` join rule: parent = the `m.room.join_rules` event. */
  | { kind: 'public' }
  /**
   * Through a `restricted` join rule: parent = the `m.room.join_rules` event; `proof` = the
   * joiner's membership chain in an allowed room (see {@link membershipProof}), carried in
   * `unsigned.membership_events`; `authorisedVia` = a member able to invite, named in
   * `join_authorised_via_users_server` as the Matrix rules require.
   */
  | { kind: 'restricted', proof: readonly RoomEvent[], authorisedVia: UserId }
  /** Through an invite link: parent = its `m.room.third_party_invite`; the claim is signed with the link's seed. */
  | { kind: 'invite-link', linkSeed: Uint8Array }

/** Joins the room as `device`'s user. */
export function buildJoin (device: SigningDevice, context: RoomContext, input: BuildOptions & { via: JoinVia, displayName?: string | undefined }): IdentifiedEvent {
  const userId = device.userId
  const content: Record<string, unknown> = {
    membership: 'join',
    [ContentField.UserKey]: userId,
    [ContentField.RoomRootKey]: rootKeyText(context.roomId),
    [ContentField.SenderKey]: device.attestation
  }
  if (input.displayName !== undefined) content.displayname = input.displayName
  let unsigned: Record<string, unknown> | undefined
  const via = input.via
  switch (via.kind) {
    case 'creator': {
      const create = context.state.entry(RoomEventType.Create, '')
      if (create === undefined || own(create.event.content, ContentField.CreatorKey) !== userId) throw misuse('only the room\'s creator joins through the create event')
      content[ContentField.ParentEventId] = create.eventId
      break
    }
    case 'invite': {
      const invite = context.state.entry(RoomEventType.Member, userId)
      if (invite === undefined || membershipOf(invite.event) !== 'invite') throw misuse(`${userId} has no pending invite in the room state`)
      content[ContentField.ParentEventId] = invite.eventId
      break
    }
    case 'public':
    case 'restricted': {
      const rules = context.state.entry(RoomEventType.JoinRules, '')
      const joinRule = rules === undefined ? undefined : ownString(rules.event.content, 'join_rule')
      if (rules === undefined || joinRule !== via.kind) throw misuse(`the room's join rule is not ${via.kind}`)
      content[ContentField.ParentEventId] = rules.eventId
      if (via.kind === 'restricted') {
        content.join_authorised_via_users_server = via.authorisedVia
        unsigned = { [ContentField.MembershipEvents]: [...via.proof] }
      }
      break
    }
    case 'invite-link': {
      const { token } = inviteLinkKeys(via.linkSeed)
      const link = context.state.entry(RoomEventType.ThirdPartyInvite, token)
      if (link === undefined || own(link.event.content, ContentField.PublicKey) === undefined) throw misuse('the room state has no live invite link for this link key')
      content[ContentField.ParentEventId] = link.eventId
      content.third_party_invite = { signed: signInviteLinkClaim({ linkSeed: via.linkSeed, userId, roomId: context.roomId }) }
      break
    }
  }
  const draft: EventDraft = { type: RoomEventType.Member, state_key: userId, content }
  if (unsigned !== undefined) draft.unsigned = unsigned
  return buildEvent(device, context, draft, input)
}

/** Leaves the room (or rejects an invite). Carries the signer's attestation so it can introduce a new device. */
export function buildLeave (device: SigningDevice, context: RoomContext, input: BuildOptions & { reason?: string }): IdentifiedEvent {
  const content: Record<string, unknown> = { membership: 'leave', [ContentField.SenderKey]: device.attestation }
  if (input.reason !== undefined) content.reason = input.reason
  return buildEvent(device, context, { type: RoomEventType.Member, state_key: device.userId, content }, input)
}

function membershipChange (device: SigningDevice, context: RoomContext, input: BuildOptions & { target: UserId, reason?: string }, membership: 'leave' | 'ban'): IdentifiedEvent {
  const content: Record<string, unknown> = { membership }
  if (input.reason !== undefined) content.reason = input.reason
  return buildEvent(device, context, { type: RoomEventType.Member, state_key: input.target, content }, input)
}

/** Kicks `target` (membership `leave` about another user). */
export function buildKick (device: SigningDevice, context: RoomContext, input: BuildOptions & { target: UserId, reason?: string }): IdentifiedEvent {
  return membershipChange(device, context, input, 'leave')
}

/** Bans `target`. */
export function buildBan (device: SigningDevice, context: RoomContext, input: BuildOptions & { target: UserId, reason?: string }): IdentifiedEvent {
  return membershipChange(device, context, input, 'ban')
}

/** Lifts a ban on `target` (membership `leave` over a ban). */
export function buildUnban (device: SigningDevice, context: RoomContext, input: BuildOptions & { target: UserId, reason?: string }): IdentifiedEvent {
  return membershipChange(device, context, input, 'leave')
}

/**
 * The restricted-join proof of `userId`'s membership in another room (MSC3917:
 * `membership_events` "starting with the cause-of-membership event, and following parent events
 * back to the specified room's `m.room.create` event"): full signed events, since a stripped
 * event could not be verified.
 *
 * @param state - the other room's current state.
 * @param getEvent - the other room's events by ID.
 */
export function membershipProof (state: RoomStateView, getEvent: (eventId: string) => RoomEvent | undefined, userId: UserId): RoomEvent[] {
  const chain: RoomEvent[] = []
  let id: string | undefined = causeOfMembership(state, userId)
  const seen = new Set<string>()
  while (id !== undefined && !seen.has(id)) {
    seen.add(id)
    const event = getEvent(id)
    if (event === undefined) throw misuse(`event ${id} of the membership chain is not available`)
    chain.push(event)
    if (event.type === RoomEventType.Create) return chain
    id = ownString(event.content, ContentField.ParentEventId)
  }
  throw misuse('the membership chain does not reach the room\'s create event')
}

// ---------------------------------------------------------------------------------------------
// Room state

/** Sets the power levels. */
export function buildPowerLevels (device: SigningDevice, context: RoomContext, input: BuildOptions & { content: Record<string, unknown> }): IdentifiedEvent {
  return buildEvent(device, context, { type: RoomEventType.PowerLevels, state_key: '', content: input.content }, input)
}

/**
 * Sets the join rule. Carries `sender_key` and `parent_event_id` (MSC3917; required for `public`
 * and `restricted`, harmless and verifiable for the others).
 */
export function buildJoinRules (device: SigningDevice, context: RoomContext, input: BuildOptions & { joinRule: string, allowRooms?: readonly RoomId[] | undefined }): IdentifiedEvent {
  const content: Record<string, unknown> = { join_rule: input.joinRule, ...senderFields(device, context) }
  if (input.allowRooms !== undefined) content.allow = input.allowRooms.map((roomId) => ({ type: 'm.room_membership', room_id: roomId }))
  return buildEvent(device, context, { type: RoomEventType.JoinRules, state_key: '', content }, input)
}

/** Sets the room name. */
export function buildName (device: SigningDevice, context: RoomContext, input: BuildOptions & { name: string }): IdentifiedEvent {
  return buildEvent(device, context, { type: RoomEventType.Name, state_key: '', content: { name: input.name } }, input)
}

/** Sets the room topic. */
export function buildTopic (device: SigningDevice, context: RoomContext, input: BuildOptions & { topic: string }): IdentifiedEvent {
  return buildEvent(device, context, { type: RoomEventType.Topic, state_key: '', content: { topic: input.topic } }, input)
}

/**
 * Publishes an invite link (an `m.room.third_party_invite` carrying the link's one-time public
 * key; see invite-link.ts). Returns the event and the link's token.
 */
export function buildInviteLink (device: SigningDevice, context: RoomContext, input: BuildOptions & { linkSeed: Uint8Array, displayName?: string }): IdentifiedEvent & { token: string } {
  const { token, publicKey } = inviteLinkKeys(input.linkSeed)
  const content: Record<string, unknown> = {
    display_name: input.displayName ?? 'invite link',
    [ContentField.PublicKey]: publicKey,
    ...senderFields(device, context)
  }
  return { ...buildEvent(device, context, { type: RoomEventType.ThirdPartyInvite, state_key: token, content }, input), token }
}

/** Revokes an invite link: the same state key with empty content. */
export function buildRevokeInviteLink (device: SigningDevice, context: RoomContext, input: BuildOptions & { token: string }): IdentifiedEvent {
  return buildEvent(device, context, { type: RoomEventType.ThirdPartyInvite, state_key: input.token, content: {} }, input)
}

/**
 * Records an attestation of one of the sender's devices in the room (`keyroom.device`, state key
 * = the UDK). The signer may be the attested device itself (it introduces itself) or another
 * device of the same user.
 */
export function buildDeviceAttestation (device: SigningDevice, context: RoomContext, input: BuildOptions & { attestation: AttestationJson }): IdentifiedEvent {
  return buildEvent(device, context, { type: RoomEventType.Device, state_key: input.attestation.udk, content: { [ContentField.Attestation]: input.attestation } }, input)
}

/**
 * Records a revocation of one of the sender's devices. When the state holds that device's
 * attestation (its `keyroom.device` record, or the sender's join), it is carried along, so the
 * device's events from before `revoked_ts` stay verifiable against later state.
 */
export function buildDeviceRevocation (device: SigningDevice, context: RoomContext, input: BuildOptions & { revocation: RevocationJson }): IdentifiedEvent {
  const udk = input.revocation.udk
  const content: Record<string, unknown> = { [ContentField.Revocation]: input.revocation }
  const record = context.state.entry(RoomEventType.Device, udk)?.event
  const member = context.state.entry(RoomEventType.Member, device.userId)?.event
  const candidates = [
    record === undefined ? undefined : own(record.content, ContentField.Attestation),
    member === undefined ? undefined : own(member.content, ContentField.SenderKey)
  ]
  for (const candidate of candidates) {
    if (own(candidate, 'udk') === udk && own(candidate, 'upk') === device.userId) {
      content[ContentField.Attestation] = candidate
      break
    }
  }
  return buildEvent(device, context, { type: RoomEventType.Device, state_key: udk, content }, input)
}

/** Links a child room into a space (MSC3917: the child's `room_root_key`, `sender_key`, `parent_event_id`). */
export function buildSpaceChild (device: SigningDevice, context: RoomContext, input: BuildOptions & { childRoomId: RoomId, via: readonly string[], order?: string }): IdentifiedEvent {
  const content: Record<string, unknown> = {
    via: [...input.via],
    [ContentField.RoomRootKey]: rootKeyText(input.childRoomId),
    ...senderFields(device, context)
  }
  if (input.order !== undefined) content.order = input.order
  return buildEvent(device, context, { type: RoomEventType.SpaceChild, state_key: input.childRoomId, content }, input)
}

// ---------------------------------------------------------------------------------------------
// Timeline

/** Sends an `m.room.message` (default `msgtype` `m.text`). */
export function buildMessage (device: SigningDevice, context: RoomContext, input: BuildOptions & { body: string, msgtype?: string, content?: Record<string, unknown> }): IdentifiedEvent {
  const content = { msgtype: input.msgtype ?? 'm.text', body: input.body, ...input.content }
  return buildEvent(device, context, { type: RoomEventType.Message, content }, input)
}

/** Redacts an event (room version 11+: `redacts` in content, MSC2174). */
export function buildRedaction (device: SigningDevice, context: RoomContext, input: BuildOptions & { redacts: string, reason?: string }): IdentifiedEvent {
  const content: Record<string, unknown> = { redacts: input.redacts }
  if (input.reason !== undefined) content.reason = input.reason
  return buildEvent(device, context, { type: RoomEventType.Redaction, content }, input)
}
