/**
 * @packageDocumentation
 *
 * The device protocols: how a user's devices come to be and find their rooms (DESIGN §1 "Linking a
 * second device"; docs/devices.md).
 *
 * - `/keyroom/link/1.0.0` — a device holding the user's UPK offers another device an attestation
 *   signed by the UPK; the device counter-signs it (proof of possession of its UDK) and answers with
 *   the complete attestation. Used to link a new device (the offer carries the one-time code of the
 *   link the new device showed) and to renew a linked device's attestation before it expires (no
 *   code: the device takes a newer attestation from its own user only).
 * - `/keyroom/rooms/1.0.0` — a device asks a peer which rooms the device's user is joined to in the
 *   peer's current state (how a linked or restored device finds the user's rooms).
 *
 * Wire (frames as in sync, `docs/wire.md`): the client writes **one frame** of canonical JSON and
 * closes its write side; the server answers **one frame** and closes.
 * - link: `{"attestation":{…},"code"?:"…","via":["/ip4/…",…]}` → `{"attestation":{…}}`
 * - rooms: `{}` → `{"rooms":["!…",…]}`
 * - errors: `{"errcode":C,"error":"text"}`, C one of `K_BAD_REQUEST`, `K_FORBIDDEN`,
 *   `K_LIMIT_EXCEEDED`, `K_UNKNOWN`.
 * Bounds in `constants.ts`. What a node accepts is its own business, through the ports.
 */
import { DeviceProtocolsService } from './device-protocols.js'
import type { LinkOffer } from './messages.js'
import type { StreamServiceComponents } from '../sync/index.js'
import type { AbortOptions, DialTarget, PeerId } from '@libp2p/interface'

export * from './constants.js'
export {
  encodeLinkOffer, parseLinkOffer, encodeLinkAnswer, parseLinkAnswer, encodeRoomsRequest, parseRoomsRequest, encodeRoomsAnswer,
  parseRoomsAnswer, encodeError
} from './messages.js'
export type { LinkOffer, Answer, AnswerCode, ParseResult } from './messages.js'

/** A value or a promise of it. */
export type MaybePromise<T> = T | Promise<T>

/** What a device says about an offer. */
export type LinkVerdict =
  /** Taken: the counter-signed attestation; `after` runs once the answer is written (or could not be: the port acted either way). */
  | { ok: true, attestation: unknown, after?: () => void }
  /** `malformed`: not a well-formed attestation; `refused`: well-formed, not taken. */
  | { ok: false, problem: 'malformed' | 'refused', reason: string }

/** The device protocols: servers (when their port is given) and clients. */
export interface DeviceProtocols {
  /**
   * Offer `peer` a UPK-signed attestation of its device. Resolves with the counter-signed
   * attestation (unchecked: the caller verifies it); throws `ERR_LINK_REFUSED` with the device's
   * reason, `ERR_PEER_BAD_MESSAGE`, or a dial or stream error.
   */
  offer(peer: DialTarget, offer: LinkOffer, options?: AbortOptions): Promise<Record<string, unknown>>
  /** Ask `peer` which rooms this device's user is joined to there. Throws `ERR_FORBIDDEN` when it will not say. */
  rooms(peer: DialTarget, options?: AbortOptions): Promise<string[]>
}

/** The libp2p components the service uses (the smallest set). */
export type DeviceProtocolsComponents = StreamServiceComponents

/** The ports (each optional: its protocol is served only when given) and tunables. */
export interface DeviceProtocolsInit {
  /** An offer arrived from `from` (its PeerId = UDK). Should settle within the inbound timeout. */
  onOffer?: (offer: LinkOffer, from: PeerId, options: AbortOptions) => MaybePromise<LinkVerdict>
  /** A device asks for its user's rooms: the room IDs, or `undefined` to refuse. */
  onRoomsRequest?: (from: PeerId, options: AbortOptions) => MaybePromise<string[] | undefined>
  /** Inbound stream time bound, ms (default `INBOUND_TIMEOUT_MS`). */
  inboundTimeout?: number
  /** Outbound request time bound, ms (default `OUTBOUND_TIMEOUT_MS`). */
  outboundTimeout?: number
}

/** The service factory (composed by hand by the node, like hello and invite). */
export function deviceProtocols (init: DeviceProtocolsInit): (components: DeviceProtocolsComponents) => DeviceProtocols & { start(): Promise<void>, stop(): Promise<void> } {
  return (components) => new DeviceProtocolsService(components, init)
}
