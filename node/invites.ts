/**
 * Invites delivered straight to this device (`/keyroom/invite/1.0.0`) for rooms it does not hold
 * yet: checked, remembered in the store's metadata (they survive a restart), listed by `rooms()`,
 * and used by `join()` to know which peer can share the room.
 */
import { RoomEventType, verifyAttestation } from '../protocols/core/index.js'
import { metaKey } from '../store/index.js'
import { checkEventBytes } from './ingest-checks.js'
import type { CheckedEvent } from './ingest-checks.js'
import type { IdentifiedEvent } from '../protocols/core/index.js'
import type { InviteVerdict } from '../protocols/invite/index.js'
import type { RoomStore } from '../store/index.js'

/** A pending invite as remembered. */
export interface PendingInvite {
  roomId: string
  eventId: string
  /** The inviter (UPK). */
  sender: string
  /** The peer (PeerId text) that delivered it: it shares the room. */
  from: string
  /** Addresses the delivering peer was reached at. */
  addrs: string[]
  /** When it arrived (ms since the epoch). */
  receivedTs: number
  /**
   * The invite event's `depth`: where it sits in the room's order, to tell an invite that follows
   * the membership this node holds (a kick, a leave, an unban it never saw) from an older one.
   * Absent on invites remembered before it was recorded.
   */
  depth?: number
}

function isPendingInvite (value: unknown): value is PendingInvite {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return typeof v.roomId === 'string' && typeof v.eventId === 'string' && typeof v.sender === 'string' && typeof v.from === 'string' &&
    Array.isArray(v.addrs) && v.addrs.every(a => typeof a === 'string') && typeof v.receivedTs === 'number' &&
    (v.depth === undefined || (typeof v.depth === 'number' && Number.isSafeInteger(v.depth)))
}

/** Most pending invites kept; the oldest go first (a peer cannot fill the store with invites). */
export const MAX_PENDING_INVITES = 256

const PENDING_INVITES = metaKey.json('keyroom.node.pending-invites', (value: unknown): value is PendingInvite[] =>
  Array.isArray(value) && value.every(isPendingInvite))

/**
 * Checks an invite offered to this device: the ingest checks, an `m.room.member` invite whose
 * target is `userId`, and a `sender_key` attestation of the signing device by the sender (so the
 * invite names its real inviter). Membership of the inviter is the room's business, checked when
 * joining.
 */
export function checkOfferedInvite (bytes: Uint8Array, userId: string): { ok: true, checked: CheckedEvent } | (InviteVerdict & { ok: false }) {
  const check = checkEventBytes(bytes)
  if (!check.ok) return { ok: false, problem: 'malformed', reason: check.reason }
  const { event } = check.checked
  if (event.type !== RoomEventType.Member || event.content.membership !== 'invite') return { ok: false, problem: 'malformed', reason: 'not an m.room.member invite' }
  if (event.state_key !== userId) return { ok: false, problem: 'refused', reason: 'the invite is for another user' }
  const signers = Object.keys(event.signatures ?? {})
  const attestation = verifyAttestation(event.content.sender_key, { now: event.origin_server_ts })
  if (attestation.status !== 'valid' || attestation.attestation.upk !== event.sender || signers.length !== 1 || signers[0] !== attestation.attestation.udk) {
    return { ok: false, problem: 'refused', reason: 'the invite\'s sender_key does not attest its signing device for its sender' }
  }
  return { ok: true, checked: check.checked }
}

/**
 * Whether an invite comes after `held`, the membership event this node holds for its own user in
 * the room (`undefined`: it holds none). The local view must follow the room's events in order: an
 * invite sent after a kick, a leave or an unban is an invite, even though this node — off the
 * room's topic once removed, and refused sync while banned — never saw what came between; so is
 * an invite deeper than a `join` this node still holds after being removed behind a partition.
 *
 * The order is the DAG's: an event's `depth` is greater than each of its `prev_events`' (Matrix
 * server-server API, "depth": "the maximum depth of the event's prev_events, plus one"), so an
 * invite whose ancestry reaches `held` is deeper than it. An invite no deeper than `held` is older
 * or concurrent, and does not supersede it. This only decides what the node lists and accepts:
 * the join that follows is checked by the room (a forged depth buys a join the room rejects).
 * An invite remembered without its depth (older stores) follows only a room held without a
 * membership of this user.
 */
export function inviteFollows (invite: Pick<PendingInvite, 'eventId' | 'depth'>, held: IdentifiedEvent | undefined): boolean {
  if (held === undefined || held.eventId === invite.eventId) return true
  return invite.depth !== undefined && invite.depth > held.event.depth
}

/** The pending invites of a node. */
export class InviteBook {
  readonly #store: RoomStore
  /** Read-modify-write of the list, one at a time. */
  #chain: Promise<void> = Promise.resolve()

  constructor (store: RoomStore) {
    this.#store = store
  }

  async list (): Promise<PendingInvite[]> {
    return await this.#store.getMeta(PENDING_INVITES) ?? []
  }

  async get (roomId: string): Promise<PendingInvite | undefined> {
    return (await this.list()).find(i => i.roomId === roomId)
  }

  /** Remembers an invite (the latest per room wins). */
  async add (invite: PendingInvite): Promise<void> {
    await this.#update(list => [...list.filter(i => i.roomId !== invite.roomId), invite].slice(-MAX_PENDING_INVITES))
  }

  async remove (roomId: string): Promise<void> {
    await this.#update(list => list.filter(i => i.roomId !== roomId))
  }

  async #update (change: (list: PendingInvite[]) => PendingInvite[]): Promise<void> {
    const run = this.#chain.then(async () => {
      const list = await this.list()
      const next = change(list)
      if (next.length !== list.length || next.some((i, n) => i !== list[n])) await this.#store.putMeta(PENDING_INVITES, next)
    })
    this.#chain = run.catch(() => {})
    await run
  }
}
