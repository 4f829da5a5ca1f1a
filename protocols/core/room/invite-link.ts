/**
 * Invite links: keyroom's form of Matrix third-party invites (DESIGN §2; MSC2787's open question
 * "you won't know a UDK until after the user has joined" answered with a one-time key).
 *
 * 1. The inviter makes a fresh ed25519 key pair for the link (its seed is passed in; the core has
 *    no randomness) and sends an `m.room.third_party_invite` state event:
 *    state key = the link *token* = unpadded URL-safe base64 of the link's public key;
 *    `content.public_key` = unpadded standard base64 of the same key (Matrix's encoding of
 *    `public_key`), plus the inviter's `sender_key` and `parent_event_id` (MSC3917).
 *    The link's seed travels to the invitee out of band (the link itself).
 * 2. The invitee joins directly — there is no server to turn the link into an `invite` — with
 *    `content.third_party_invite.signed` = the *link claim*:
 *
 *    ```json
 *    { "token": "<link token>", "user_key": "~<joiner's UPK>", "room_id": "!<room>",
 *      "signatures": { "<link token>": { "ed25519": "<signature by the link key>" } } }
 *    ```
 *
 *    signed as Matrix signed JSON by the link key (entity = the token, key ID `ed25519`). The
 *    signature binds the link to one user and one room, so a claim seen on the wire cannot be
 *    replayed for another user or room. Redaction keeps `third_party_invite.signed` (room v11+),
 *    so the proof survives a redaction of the join.
 * 3. The inviter revokes the link by sending the same state event with empty content (the Matrix
 *    convention for 3pid invites). A link is a bearer secret until then: whoever holds its seed can
 *    claim it for their own key. "One-time" is the key's lifetime (one key per link, never reused);
 *    a node that wants single use revokes the link when the first join through it arrives.
 *
 * This file builds every byte the link key signs (STYLE habit 9): the claim object below.
 */
import { toBase64, toBase64Url } from '../encoding/base64.js'
import { publicKeyFromSeed } from '../crypto/index.js'
import { signJson, verifyJson } from '../signing/index.js'
import { LINK_KEY_ID } from './constants.js'
import { decodeKey, isObject, own, ownString } from './event-fields.js'

/** The signed link claim carried in a join's `content.third_party_invite.signed`. */
export interface InviteLinkClaim {
  token: string
  user_key: string
  room_id: string
  signatures: Record<string, Record<string, string>>
}

/** The token (state key of the `m.room.third_party_invite`) of a link key. */
export function inviteLinkToken (linkPublicKey: Uint8Array): string {
  return toBase64Url(linkPublicKey)
}

/** The link's public key as `m.room.third_party_invite` `content.public_key` carries it. */
export function inviteLinkPublicKeyText (linkPublicKey: Uint8Array): string {
  return toBase64(linkPublicKey)
}

/** The token and public-key text of a link seed. */
export function inviteLinkKeys (linkSeed: Uint8Array): { token: string, publicKey: string, key: Uint8Array } {
  const key = publicKeyFromSeed(linkSeed)
  return { token: inviteLinkToken(key), publicKey: inviteLinkPublicKeyText(key), key }
}

/** Signs the claim that `userId` uses the link of `linkSeed` to join `roomId`. */
export function signInviteLinkClaim (input: { linkSeed: Uint8Array, userId: string, roomId: string }): InviteLinkClaim {
  const { token } = inviteLinkKeys(input.linkSeed)
  return signJson({ token, user_key: input.userId, room_id: input.roomId }, token, LINK_KEY_ID, input.linkSeed) as InviteLinkClaim
}

/** Why a link claim does not hold (MSC3917 flowchart names in brackets). */
export type InviteLinkProblem =
  /** No `third_party_invite.signed` object, or fields of the wrong type. */
  | 'malformed'
  /** [threepid_signed_msk] The claim is for another user or another room. */
  | 'wrong-user'
  /** [threepid_token] The claim's token is not the link event's state key, or the link is revoked / has no key. */
  | 'token-mismatch'
  /** [idserver_sig] No valid signature by the link's key. */
  | 'bad-signature'

/**
 * Checks the link claim of a join against the link event it names.
 *
 * @param claim - the join's `content.third_party_invite.signed`.
 * @param link - the `m.room.third_party_invite` event's state key and content.
 * @param expected - the joining user and the room.
 */
export function checkInviteLinkClaim (
  claim: unknown,
  link: { stateKey: string | undefined, content: unknown },
  expected: { userId: string, roomId: string }
): { ok: true } | { ok: false, problem: InviteLinkProblem } {
  if (!isObject(claim)) return { ok: false, problem: 'malformed' }
  const token = ownString(claim, 'token')
  if (token === undefined || ownString(claim, 'user_key') === undefined || ownString(claim, 'room_id') === undefined) {
    return { ok: false, problem: 'malformed' }
  }
  if (own(claim, 'user_key') !== expected.userId || own(claim, 'room_id') !== expected.roomId) return { ok: false, problem: 'wrong-user' }
  const publicKeyText = ownString(link.content, 'public_key')
  const key = publicKeyText === undefined ? undefined : decodeKey(publicKeyText)
  if (key === undefined || link.stateKey !== token || inviteLinkToken(key) !== token) return { ok: false, problem: 'token-mismatch' }
  if (!verifyJson(claim, token, LINK_KEY_ID, key)) return { ok: false, problem: 'bad-signature' }
  return { ok: true }
}

/** The link claim of a join event's content, if it has one. */
export function inviteLinkClaimOf (content: unknown): unknown {
  const invite = own(content, 'third_party_invite')
  return invite === undefined ? undefined : own(invite, 'signed')
}
