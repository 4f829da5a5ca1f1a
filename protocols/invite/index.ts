/**
 * @packageDocumentation
 *
 * `/keyroom/invite/1.0.0` — handing a signed invite to the invitee's device.
 *
 * An invitee is not on the room's gossip topic yet and cannot ask for a room it does not know, so
 * the inviter delivers the signed `m.room.member` invite directly to the devices its user has
 * attested (found by the hello exchange, or by the identity directory). The invitee's node checks
 * the event on its own (integrity; an invite for its own user) and records it; joining then fetches
 * the room through sync and checks everything against the room's own rules.
 *
 * Wire (frames as in sync, `docs/wire.md`): the client writes **one frame**, the invite event's
 * canonical JSON (at most 65536 bytes), and closes its write side; the server answers **one frame**
 * — `{"ok":true}` or `{"errcode":C,"error":"text"}` with C one of `K_BAD_REQUEST` (not a well-formed
 * invite), `K_FORBIDDEN` (not for this device's user, or refused), `K_LIMIT_EXCEEDED` (too many in
 * flight), `K_UNKNOWN` — and closes. Bounds in `constants.ts`.
 */
import { InviteService } from './invite-service.js'
import type { StreamServiceComponents } from '../sync/index.js'
import type { AbortOptions, DialTarget, PeerId } from '@libp2p/interface'

export * from './constants.js'

/** A value or a promise of it. */
export type MaybePromise<T> = T | Promise<T>

/** What the invitee's node says about an invite. */
export type InviteVerdict =
  | { ok: true }
  /** `malformed`: not a well-formed invite event; `refused`: well-formed, but not taken. */
  | { ok: false, problem: 'malformed' | 'refused', reason: string }

/** Invite delivery: a server for invites to this device and a client to deliver them. */
export interface InviteDelivery {
  /** The protocol ID served. */
  readonly protocol: string
  /**
   * Hand `eventBytes` (a signed invite's canonical JSON) to `peer`. Resolves when the peer took
   * it; throws `ERR_INVITE_REFUSED` (with the peer's reason), `ERR_PEER_BAD_MESSAGE`, or a dial or
   * stream error.
   */
  deliver(peer: DialTarget, eventBytes: Uint8Array, options?: AbortOptions): Promise<void>
}

/** The libp2p components the service uses (the smallest set). */
export type InviteComponents = StreamServiceComponents

/** The port (required) and tunables (optional; defaults in `constants.ts`). */
export interface InviteInit {
  /** An invite arrived from `from` (a device, its PeerId = UDK). Should settle within the inbound timeout. */
  onInvite: (eventBytes: Uint8Array, from: PeerId, options: AbortOptions) => MaybePromise<InviteVerdict>
  /** Inbound stream time bound, ms (default `INVITE_INBOUND_TIMEOUT_MS`). */
  inboundTimeout?: number
  /** Outbound delivery time bound, ms (default `INVITE_OUTBOUND_TIMEOUT_MS`). */
  outboundTimeout?: number
}

/** The service factory, for `services: { invite: inviteDelivery(init) }` (or composed by hand, as the node does). */
export function inviteDelivery (init: InviteInit): (components: InviteComponents) => InviteDelivery & { start(): Promise<void>, stop(): Promise<void> } {
  return (components) => new InviteService(components, init)
}
