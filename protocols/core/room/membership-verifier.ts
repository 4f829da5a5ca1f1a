/**
 * MSC3917 membership verification, adapted to keyroom (DESIGN §3 step 4).
 *
 * MSC3917 "Membership Event Signature Tree": "a user's cause-of-membership event can be
 * cryptographically verified via the following procedure" — the flowchart in
 * `reference/MSC3917-constrained-membership.txt`, with MSC3917's terms mapped to keyroom's:
 * RSK → UDK (the event's one signature), "RSK signed by MSK" → the UDK's attestation by the UPK in
 * `sender_key`, MSK → UPK, homeserver → peer, third-party invite → invite link (invite-link.ts).
 * Every failure names the flowchart node that refused (`step`) and a machine-readable `reason`:
 *
 * ```
 * start ─ join ──▶ join_rrk ▶ join_sig ▶ join_rsk_msk ▶ why_join ─┬─ invite ─▶ invite_rrk ▶ check_sender
 *   │                                                             ├─ create (creator's own join) ▶ create…
 *   │                                                             ├─ invite link ▶ idserver_sig ▶ threepid_signed_msk ▶ threepid_token ▶ check_sender
 *   │                                                             └─ join_rules ▶ join_rule_type ─┬─ public ▶ check_sender
 *   │                                                                                             └─ restricted ▶ any_old_rooms ─┬─ yes ▶ check_sender
 *   │                                                                                                                            └─ no ▶ joinrule_match ▶ join_state ▶ check_sender
 *   └─ create ─▶ create_rrk ▶ create_sig ▶ accept
 * check_sender ▶ sender_rsk_msk ▶ lookup_sender_cause ▶ sender_recurse (the sender's cause, from `start`)
 * ```
 *
 * Adaptations, each a choice where the MSC is silent or assumes a server:
 * - "a valid signature by the user's RSK" is the event's one UDK signature over its redacted form
 *   (which keeps the MSC3917 keys, so redaction cannot break a chain); the UDK must be the one
 *   `sender_key` attests for the sender. The event ID is checked too (the reference hash of the
 *   same bytes), so a store or peer cannot substitute one event for another under a parent ID.
 * - The create event is also checked for its UDK signature and attestation (keyroom signs every
 *   event), besides the RRK signature the MSC asks for; attestations must be in force at the
 *   event's `origin_server_ts`.
 * - The creator's own join cites the create event as its parent (the creator has no invite).
 * - `joinrule_match` is checked before `join_state`: it needs no signature, so a proof for a room
 *   the rule does not allow costs nothing. (Only the reported step differs when both fail.)
 * - A UDK revoked in the current state (`keyroom.device` revocation, `revoked_ts` ≤ the event's
 *   timestamp) fails every chain through an event it signed (`revoked-device`) — a keyroom
 *   addition, applied as a cheap overlay so that revocations never force re-verification.
 *
 * Cost. Results are memoised per event ID (every cause-of-membership event, invite, join rule and
 * invite link is verified once, whoever's chain reaches it), so a room of N members costs O(N)
 * event verifications; attestations are verified once per distinct statement (AttestationCache).
 * The walk is iterative (an explicit stack: a chain of 28,000 invites does not overflow the call
 * stack) and can be run in bounded slices ({@link MembershipVerifier.step}) so that no synchronous
 * step of a large room takes long. Failures caused by missing events or by a restricted join's
 * unsigned proof are *transient*: they are kept only until new events arrive.
 */
import { sha256, verifySignature } from '../crypto/index.js'
import { ErrorCode, KeyroomError } from '../errors.js'
import { eventIdFromReferenceHash } from '../events/index.js'
import { redactedEventBytes } from '../signing/index.js'
import { roomVersionRules } from '../room-versions.js'
import type { RoomVersionRules } from '../room-versions.js'
import { attestationInForceAt } from './attestation-cache.js'
import type { AttestationCache } from './attestation-cache.js'
import { RoomEventType, ContentField, MAX_MEMBERSHIP_PROOF_EVENTS } from './constants.js'
import { eventSigner, isObject, membershipOf, own, ownString, roomKey, rootKeyText } from './event-fields.js'
import { checkInviteLinkClaim, inviteLinkClaimOf } from './invite-link.js'
import { defaultAttestationCache, matchingAttestation } from './keyroom-auth.js'
import type { IdentifiedEvent, RoomEvent } from './types.js'

/** The flowchart node (MSC3917 mermaid IDs) where verification stopped; `revocation` and `lookup` are keyroom's. */
export type VerificationStep =
  | 'start' | 'lookup'
  | 'join_rrk' | 'join_sig' | 'join_rsk_msk' | 'why_join'
  | 'invite_rrk' | 'check_sender' | 'sender_rsk_msk' | 'lookup_sender_cause'
  | 'idserver_sig' | 'threepid_signed_msk' | 'threepid_token'
  | 'join_rule_type' | 'join_state' | 'joinrule_match'
  | 'create_rrk' | 'create_sig'
  | 'revocation'

/** Why a member (or event) is unverified. */
export type UnverifiedReason =
  /** An event of the chain is not available (yet). Transient. */
  | 'missing-event'
  /** The chain loops back on itself. */
  | 'cycle'
  /** The event looked up under an ID is not the event with that ID. */
  | 'event-id-mismatch'
  /** The event belongs to another room. */
  | 'wrong-room'
  /** `room_root_key` is not this room's RRK. */
  | 'wrong-rrk'
  /** `user_key` / state key / `creator_key` is not the user in question. */
  | 'wrong-user'
  /** Not exactly one UDK signature, or it does not verify. */
  | 'bad-signature'
  /** `sender_key` is not a genuine attestation of the signing UDK by the sender. */
  | 'bad-attestation'
  /** The attestation had expired at the event's `origin_server_ts`. */
  | 'attestation-expired'
  /** The create event's RRK signature does not verify for the room ID. */
  | 'bad-rrk-signature'
  /** `parent_event_id` is missing, or names an event that cannot have allowed this one. */
  | 'bad-parent'
  /** The sender's cited cause-of-membership event is not a join or create *of the sender*. */
  | 'not-sender-cause'
  /** The join cites a join rule that admits nobody without an invite. */
  | 'join-rule-not-open'
  /** The join cites an invite of another user. */
  | 'invite-wrong-user'
  /** The invite-link claim is missing or malformed. */
  | 'link-malformed'
  /** The invite-link claim is for another user or room. */
  | 'link-wrong-user'
  /** The claim's token is not the link's, or the link has no key (revoked). */
  | 'link-token-mismatch'
  /** The claim is not signed by the link key. */
  | 'link-bad-signature'
  /** A restricted join without `unsigned.membership_events`. Transient. */
  | 'restricted-no-proof'
  /** The restricted join's proof does not verify. Transient. */
  | 'restricted-bad-proof'
  /** The proof is for a room the join rule does not allow. Transient. */
  | 'restricted-room-not-allowed'
  /** An event of the chain is signed by a UDK revoked in the current state. */
  | 'revoked-device'
  /** The event is of a kind that cannot be part of a membership chain. */
  | 'not-verifiable'
  /** The user's membership is not `join` or `invite`. */
  | 'not-a-member'

/** How a verified join was allowed. */
export type VerificationBasis =
  | 'creator' | 'invite' | 'invite-link' | 'public-join-rule' | 'restricted-join-rule'
  /** A restricted rule naming a room whose ID is not an RRK: MSC3917 accepts on the sender alone. */
  | 'restricted-legacy-room'
  /** An invited (not yet joined) member whose invite verifies. */
  | 'invited'

/** A verification failure. */
export interface VerificationFailure {
  readonly ok: false
  readonly reason: UnverifiedReason
  readonly step: VerificationStep
  /** The event at which verification stopped. */
  readonly eventId: string
  /** True when new events may change the outcome (missing events, restricted proofs). */
  readonly transient: boolean
  /** For a failed restricted proof: the failure inside the other room. */
  readonly inner?: VerificationFailure
}

/** A verified event: how, and what the revocation overlay needs. */
export interface VerificationSuccess {
  readonly ok: true
  /** Set on joins and creates. */
  readonly basis?: VerificationBasis
  /** The signing UDK and the event's timestamp (revocations are judged against them). */
  readonly signer: string
  readonly ts: number
  /** The event this one's verification rests on. */
  readonly parent?: string
}

/** The verdict on one event. */
export type EventVerification = VerificationSuccess | VerificationFailure

/** The verdict on one member. */
export type MemberVerification =
  | { readonly userId: string, readonly membership: string, readonly eventId: string, readonly verified: true, readonly basis: VerificationBasis }
  | {
    readonly userId: string
    readonly membership: string
    readonly eventId: string
    readonly verified: false
    readonly reason: UnverifiedReason
    readonly step: VerificationStep
    /** Where the chain failed. */
    readonly failedEventId: string
    readonly transient: boolean
  }

/** Options of a {@link MembershipVerifier}. */
export interface MembershipVerifierOptions {
  /** The room (its ID is its RRK). */
  roomId: string
  /** Room version rules (keyroom.1 by default): the redaction algorithm the signatures cover. */
  rules?: RoomVersionRules
  /** Events by ID, for chain events not fed with {@link MembershipVerifier.addEvent}. */
  getEvent?: (eventId: string) => RoomEvent | undefined
  /** Verified-statement cache (the module's shared one by default). */
  attestations?: AttestationCache
}

/** Options of {@link MembershipVerifier.step}. */
export interface StepOptions {
  /** Most events to verify in this slice (default {@link DEFAULT_SLICE_EVENTS}). */
  maxEvents?: number
  /** Asked after each event; `true` ends the slice early (e.g. a deadline the caller measures). */
  shouldYield?: () => boolean
}

/**
 * Default slice: 64 event verifications, each one or a few ed25519 verifications (~70 µs native)
 * plus canonical JSON — ≈ 10–25 ms, well inside a 50 ms budget.
 */
export const DEFAULT_SLICE_EVENTS = 64

/** Counters, for benchmarks and tests. */
export interface VerifierStats {
  /** Events whose own checks ran (each at most once while its result is kept). */
  eventsChecked: number
  /** Event signatures verified (ed25519). */
  eventSignatures: number
}

/** A local step's outcome: failed, accepted at a root, or accepted if `parent` verifies. */
type LocalOutcome = VerificationFailure | VerificationSuccess

const KEYROOM_RULES = roomVersionRules('keyroom.1')

function failure (reason: UnverifiedReason, step: VerificationStep, eventId: string, transient = false, inner?: VerificationFailure): VerificationFailure {
  return inner === undefined ? { ok: false, reason, step, eventId, transient } : { ok: false, reason, step, eventId, transient, inner }
}

/**
 * Verifies a room's members incrementally. Feed it the current membership ({@link applyState})
 * and the events of the chains ({@link addEvent}, or a `getEvent` lookup); ask it about members;
 * let it work in slices ({@link step}, {@link verifyAll}).
 */
export class MembershipVerifier {
  readonly roomId: string
  readonly stats: VerifierStats = { eventsChecked: 0, eventSignatures: 0 }
  private readonly rootKey: string
  private readonly rules: RoomVersionRules
  private readonly getEvent: ((eventId: string) => RoomEvent | undefined) | undefined
  private readonly cache: AttestationCache

  /** Events fed in, by ID (the ID is checked when the event is verified). */
  private readonly events = new Map<string, RoomEvent>()
  /** Final results (successes and permanent failures), by event ID. */
  private readonly results = new Map<string, EventVerification>()
  /** Transient failures, dropped when new events arrive. */
  private readonly transient = new Map<string, VerificationFailure>()
  /** Local successes waiting for their parent's result. */
  private readonly waiting = new Map<string, VerificationSuccess>()
  /** IDs looked up and not found: when one arrives, transient failures are retried. */
  private readonly missing = new Set<string>()

  /** Current members: user → membership and the ID of their member event. */
  private readonly members = new Map<string, { membership: string, eventId: string }>()
  /** Revoked UDKs in the current state: UDK → (UPK, revoked_ts). */
  private readonly revocations = new Map<string, { upk: string, revokedTs: number }>()
  /** Revocation overlay per verified event: `null` when no event of its chain is revoked. */
  private overlay = new Map<string, VerificationFailure | null>()

  /** Background work: member events to verify, and the resumable walk. */
  private queue: string[] = []
  private readonly stack: string[] = []
  private readonly onStack = new Set<string>()

  /** Verifiers of other rooms, for restricted-join proofs. */
  private readonly proofRooms = new Map<string, MembershipVerifier>()

  constructor (options: MembershipVerifierOptions) {
    this.roomId = options.roomId
    this.rootKey = rootKeyText(options.roomId)
    this.rules = options.rules ?? KEYROOM_RULES
    if (!this.rules.roomIdIsRootKey || this.rules.eventIdFormat !== 'hash-url') {
      throw new KeyroomError(ErrorCode.UnknownRoomVersion, `membership verification needs a room version whose room ID is its root key (keyroom.1), not ${this.rules.id}`)
    }
    this.getEvent = options.getEvent
    this.cache = options.attestations ?? defaultAttestationCache
  }

  // -------------------------------------------------------------------------------------------
  // Feeding

  /**
   * Makes an event available to the chains. With no `eventId`, its ID is computed. An event that
   * was missing, or that replaces a copy with other `unsigned` data (a restricted join's proof),
   * clears the transient failures so they are retried.
   */
  addEvent (event: RoomEvent, eventId?: string): string {
    const id = eventId ?? this.computeId(event)
    const previous = this.events.get(id)
    this.events.set(id, event)
    if (this.missing.has(id) || (previous !== undefined && previous !== event && this.transient.size > 0)) this.retryTransient()
    return id
  }

  /** Forgets every transient failure (missing events, restricted proofs), so they are retried. */
  retryTransient (): void {
    if (this.transient.size === 0 && this.missing.size === 0) return
    for (const entry of this.members.values()) {
      if (this.transient.has(entry.eventId)) this.queue.push(entry.eventId)
    }
    this.transient.clear()
    this.missing.clear()
  }

  /**
   * Applies a current-state event: an `m.room.member` (the member's membership and cause event)
   * or a `keyroom.device` (a revocation in force). Other types are ignored. The event is also made
   * available to the chains.
   */
  applyState (entry: IdentifiedEvent): void {
    const { event, eventId } = entry
    if (event.type === RoomEventType.Member && typeof event.state_key === 'string') {
      this.addEvent(event, eventId)
      const membership = membershipOf(event) ?? ''
      this.members.set(event.state_key, { membership, eventId })
      if ((membership === 'join' || membership === 'invite') && this.resultOf(eventId) === undefined) this.queue.push(eventId)
    } else if (event.type === RoomEventType.Device && typeof event.state_key === 'string') {
      const udk = event.state_key
      const revocation = own(event.content, ContentField.Revocation)
      const check = revocation === undefined ? undefined : this.cache.revocation(revocation)
      const before = this.revocations.get(udk)
      if (check !== undefined && check.ok && check.revocation.udk === udk && check.revocation.upk === event.sender) {
        if (before?.revokedTs !== check.revocation.revokedTs || before.upk !== check.revocation.upk) {
          this.revocations.set(udk, { upk: check.revocation.upk, revokedTs: check.revocation.revokedTs })
          this.overlay = new Map()
        }
      } else if (before !== undefined) {
        this.revocations.delete(udk)
        this.overlay = new Map()
      }
    }
  }

  /** Drops a member (e.g. after a state reset). */
  removeMember (userId: string): void {
    this.members.delete(userId)
  }

  // -------------------------------------------------------------------------------------------
  // Querying

  /** The verdict on one member, verifying their chain now if needed; `undefined` if not in the state. */
  member (userId: string): MemberVerification | undefined {
    const entry = this.members.get(userId)
    if (entry === undefined) return undefined
    const base = { userId, membership: entry.membership, eventId: entry.eventId }
    if (entry.membership !== 'join' && entry.membership !== 'invite') {
      return { ...base, verified: false, reason: 'not-a-member', step: 'start', failedEventId: entry.eventId, transient: false }
    }
    const result = this.verifyEvent(entry.eventId)
    if (!result.ok) {
      return { ...base, verified: false, reason: result.reason, step: result.step, failedEventId: result.eventId, transient: result.transient }
    }
    const basis = entry.membership === 'invite' ? 'invited' : result.basis
    if (basis === undefined) {
      // A member event that is neither a verified join nor a verified invite.
      return { ...base, verified: false, reason: 'not-verifiable', step: 'start', failedEventId: entry.eventId, transient: false }
    }
    return { ...base, verified: true, basis }
  }

  /** The verdict on every member of the current state, in code-point order of user ID. */
  allMembers (): MemberVerification[] {
    const ids = [...this.members.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    return ids.map((id) => this.member(id)!)
  }

  /**
   * The verdict on any event of a chain (a cause-of-membership event, an invite, a join rule, an
   * invite link, a space child), verifying it now if needed, with the revocation overlay.
   */
  verifyEvent (eventId: string): EventVerification {
    const result = this.resolve(eventId)
    if (!result.ok) return result
    return this.revoked(eventId) ?? result
  }

  /**
   * Verifies `eventId` as the cause-of-membership event of `userId` (a join by them, or the
   * create event naming them as creator).
   */
  verifyCause (eventId: string, userId: string): EventVerification {
    const event = this.load(eventId)
    if (event === undefined) return failure('missing-event', 'start', eventId, true)
    if (!isCauseOf(event, userId)) return failure('wrong-user', event.type === RoomEventType.Create ? 'create_rrk' : 'join_rrk', eventId)
    return this.verifyEvent(eventId)
  }

  // -------------------------------------------------------------------------------------------
  // Background work

  /** Members queued for verification and not yet done (an upper bound). */
  get pending (): number {
    return this.queue.length + (this.stack.length > 0 ? 1 : 0)
  }

  /**
   * Verifies queued members for one bounded slice.
   *
   * @returns `true` when nothing is left to do.
   */
  step (options: StepOptions = {}): boolean {
    let budget = options.maxEvents ?? DEFAULT_SLICE_EVENTS
    const shouldYield = options.shouldYield
    for (;;) {
      if (this.stack.length === 0) {
        let next: string | undefined
        while ((next = this.queue.pop()) !== undefined && this.resultOf(next) !== undefined) { /* already done */ }
        if (next === undefined) return true
        this.stack.push(next)
        this.onStack.add(next)
      }
      const outcome = this.walk(this.stack, this.onStack, budget, shouldYield)
      if (outcome.done) {
        budget = outcome.budget
        continue
      }
      return false
    }
  }

  /**
   * Verifies every queued member, one slice at a time, awaiting `yieldControl` between slices so
   * the caller's event loop stays responsive (e.g. `() => new Promise(r => setImmediate(r))`).
   */
  async verifyAll (options: StepOptions & { yieldControl: () => Promise<void>, signal?: AbortSignal }): Promise<void> {
    while (!this.step(options)) {
      options.signal?.throwIfAborted()
      await options.yieldControl()
    }
  }

  // -------------------------------------------------------------------------------------------
  // The walk

  private resultOf (id: string): EventVerification | undefined {
    return this.results.get(id) ?? this.transient.get(id)
  }

  private record (id: string, result: EventVerification): void {
    if (!result.ok && result.transient) this.transient.set(id, result)
    else this.results.set(id, result)
  }

  /** Resolves one event to completion (synchronously). */
  private resolve (id: string): EventVerification {
    const known = this.resultOf(id)
    if (known !== undefined) return known
    const stack = [id]
    this.walk(stack, new Set(stack), Number.POSITIVE_INFINITY, undefined)
    return this.resultOf(id)!
  }

  /**
   * Runs the iterative walk until `stack` is empty (`done`) or the budget runs out. Each event's
   * local checks run once; an event whose checks pass waits on the stack for its parent.
   */
  private walk (stack: string[], onStack: Set<string>, budget: number, shouldYield: (() => boolean) | undefined): { done: boolean, budget: number } {
    while (stack.length > 0) {
      const id = stack[stack.length - 1]!
      if (this.resultOf(id) !== undefined) {
        stack.pop()
        onStack.delete(id)
        continue
      }
      let local = this.waiting.get(id)
      if (local === undefined) {
        if (budget <= 0 || shouldYield?.() === true) return { done: false, budget }
        budget--
        const outcome = this.localCheck(id)
        if (!outcome.ok || outcome.parent === undefined) {
          this.record(id, outcome)
          stack.pop()
          onStack.delete(id)
          continue
        }
        local = outcome
        this.waiting.set(id, local)
      }
      const parentId = local.parent!
      const parent = this.resultOf(parentId)
      if (parent !== undefined) {
        this.record(id, parent.ok ? local : parent)
        this.waiting.delete(id)
        stack.pop()
        onStack.delete(id)
      } else if (onStack.has(parentId)) {
        this.record(id, failure('cycle', 'start', id))
        this.waiting.delete(id)
        stack.pop()
        onStack.delete(id)
      } else {
        stack.push(parentId)
        onStack.add(parentId)
      }
    }
    return { done: true, budget }
  }

  private load (id: string): RoomEvent | undefined {
    const event = this.events.get(id) ?? this.getEvent?.(id)
    if (event === undefined) this.missing.add(id)
    return event
  }

  private computeId (event: RoomEvent): string {
    return eventIdFromReferenceHash(sha256(redactedEventBytes(event, this.rules.redaction)), 'hash-url')
  }

  /** The checks of one event, on its own (the parent's verdict is combined by the walk). */
  private localCheck (id: string): LocalOutcome {
    this.stats.eventsChecked++
    const event = this.load(id)
    if (event === undefined) return failure('missing-event', 'lookup', id, true)
    if (event.room_id !== this.roomId) return failure('wrong-room', 'start', id)
    switch (event.type) {
      case RoomEventType.Create:
        return this.checkCreate(event, id)
      case RoomEventType.Member: {
        const membership = membershipOf(event)
        if (membership === 'join') return this.checkJoin(event, id)
        if (membership === 'invite') return this.checkInvite(event, id)
        return failure('not-verifiable', 'start', id)
      }
      case RoomEventType.JoinRules:
      case RoomEventType.ThirdPartyInvite:
      case RoomEventType.SpaceChild:
        return this.checkSender(event, id)
      default:
        return failure('not-verifiable', 'start', id)
    }
  }

  /**
   * The event's one UDK signature and its attestation by the sender (flowchart `join_sig` +
   * `join_rsk_msk`, or `check_sender` + `sender_rsk_msk`), and its ID.
   */
  private checkSigned (event: RoomEvent, id: string, sigStep: VerificationStep, keyStep: VerificationStep): { ok: true, signer: string } | VerificationFailure {
    const signer = eventSigner(event)
    if (!signer.ok) return failure('bad-signature', sigStep, id)
    let bytes: Uint8Array
    try {
      bytes = redactedEventBytes(event, this.rules.redaction)
    } catch {
      return failure('bad-signature', sigStep, id)
    }
    if (eventIdFromReferenceHash(sha256(bytes), 'hash-url') !== id) return failure('event-id-mismatch', 'lookup', id)
    this.stats.eventSignatures++
    if (!verifySignature(signer.deviceKey, bytes, signer.signature)) return failure('bad-signature', sigStep, id)
    const attestation = matchingAttestation(own(event.content, ContentField.SenderKey), event.sender, signer.deviceId, this.cache)
    if (attestation === undefined) return failure('bad-attestation', keyStep, id)
    if (!attestationInForceAt(attestation, event.origin_server_ts)) return failure('attestation-expired', keyStep, id)
    return { ok: true, signer: signer.deviceId }
  }

  /** Flowchart `create_rrk`, `create_sig` (+ keyroom: the creator's UDK signature). */
  private checkCreate (event: RoomEvent, id: string): LocalOutcome {
    if (own(event.content, ContentField.RoomRootKey) !== this.rootKey || event.state_key !== '') return failure('wrong-rrk', 'create_rrk', id)
    if (own(event.content, ContentField.CreatorKey) !== event.sender) return failure('wrong-user', 'create_rrk', id)
    if (!this.cache.rrkSignature(event.content, this.roomId)) return failure('bad-rrk-signature', 'create_sig', id)
    const signed = this.checkSigned(event, id, 'create_sig', 'create_sig')
    if (!signed.ok) return signed
    return { ok: true, basis: 'creator', signer: signed.signer, ts: event.origin_server_ts }
  }

  /** Flowchart `join_rrk`, `join_sig`, `join_rsk_msk`, then `why_join` and the parent's branch. */
  private checkJoin (event: RoomEvent, id: string): LocalOutcome {
    const userId = event.state_key
    if (own(event.content, ContentField.RoomRootKey) !== this.rootKey) return failure('wrong-rrk', 'join_rrk', id)
    if (userId === undefined || event.sender !== userId || own(event.content, ContentField.UserKey) !== userId) return failure('wrong-user', 'join_rrk', id)
    const signed = this.checkSigned(event, id, 'join_sig', 'join_rsk_msk')
    if (!signed.ok) return signed
    const ok = (basis: VerificationBasis): VerificationSuccess =>
      ({ ok: true, basis, signer: signed.signer, ts: event.origin_server_ts, parent: parentId })

    const parentId = ownString(event.content, ContentField.ParentEventId)
    if (parentId === undefined) return failure('bad-parent', 'why_join', id)
    const parent = this.load(parentId)
    if (parent === undefined) return failure('missing-event', 'why_join', parentId, true)

    if (parent.type === RoomEventType.Create) {
      // keyroom: the creator's own join stands on the create event.
      if (own(parent.content, ContentField.CreatorKey) !== userId) return failure('bad-parent', 'why_join', id)
      return ok('creator')
    }
    if (parent.type === RoomEventType.Member && membershipOf(parent) === 'invite') {
      // invite_kind: sent directly by a user (invite links are joins, below). invite_rrk: the
      // invite must be for this user; its RRK is checked in the invite's own step.
      if (parent.state_key !== userId || own(parent.content, ContentField.UserKey) !== userId) return failure('invite-wrong-user', 'invite_rrk', id)
      return ok('invite')
    }
    if (parent.type === RoomEventType.ThirdPartyInvite) {
      const claim = inviteLinkClaimOf(event.content)
      if (claim === undefined) return failure('link-malformed', 'idserver_sig', id)
      const check = checkInviteLinkClaim(claim, { stateKey: parent.state_key, content: parent.content }, { userId, roomId: this.roomId })
      if (!check.ok) {
        switch (check.problem) {
          case 'malformed': return failure('link-malformed', 'idserver_sig', id)
          case 'bad-signature': return failure('link-bad-signature', 'idserver_sig', id)
          case 'wrong-user': return failure('link-wrong-user', 'threepid_signed_msk', id)
          case 'token-mismatch': return failure('link-token-mismatch', 'threepid_token', id)
        }
      }
      return ok('invite-link')
    }
    if (parent.type === RoomEventType.JoinRules) {
      const rule = ownString(parent.content, 'join_rule')
      if (rule === 'public') return ok('public-join-rule')
      if (rule === 'restricted' || rule === 'knock_restricted') return this.checkRestricted(event, id, parent, ok)
      return failure('join-rule-not-open', 'join_rule_type', id)
    }
    return failure('bad-parent', 'why_join', id)
  }

  /** Flowchart `any_old_rooms`, `joinrule_match`, `join_state`. */
  private checkRestricted (event: RoomEvent, id: string, rules: RoomEvent, ok: (basis: VerificationBasis) => VerificationSuccess): LocalOutcome {
    const allow = own(rules.content, 'allow')
    const rooms: string[] = []
    if (Array.isArray(allow)) {
      for (const entry of allow) {
        if (own(entry, 'type') === 'm.room_membership' && typeof own(entry, 'room_id') === 'string') rooms.push(own(entry, 'room_id') as string)
      }
    }
    // any_old_rooms: "Does the restricted join rule include any rooms whose IDs are not RRKs?" → check_sender.
    if (rooms.some((room) => roomKey(room) === undefined)) return ok('restricted-legacy-room')
    const proof = own(event.unsigned, ContentField.MembershipEvents)
    if (!Array.isArray(proof) || proof.length === 0) return failure('restricted-no-proof', 'join_state', id, true)
    if (proof.length > MAX_MEMBERSHIP_PROOF_EVENTS || !proof.every(isProofEvent)) return failure('restricted-bad-proof', 'join_state', id, true)
    const first = proof[0] as RoomEvent
    const proofRoom = first.room_id
    // joinrule_match (checked first: it costs nothing).
    if (!rooms.includes(proofRoom) || proofRoom === this.roomId) return failure('restricted-room-not-allowed', 'joinrule_match', id, true)
    // join_state: the user's cause-of-membership in that room verifies back to its create event.
    let verifier = this.proofRooms.get(proofRoom)
    if (verifier === undefined) {
      verifier = new MembershipVerifier({ roomId: proofRoom, rules: this.rules, attestations: this.cache })
      this.proofRooms.set(proofRoom, verifier)
    }
    let firstId: string | undefined
    for (const proofEvent of proof as RoomEvent[]) {
      if (proofEvent.room_id !== proofRoom) return failure('restricted-bad-proof', 'join_state', id, true)
      const eventId = verifier.addEvent(proofEvent)
      firstId ??= eventId
    }
    const inner = verifier.verifyCause(firstId!, event.state_key!)
    if (!inner.ok) return failure('restricted-bad-proof', 'join_state', id, true, inner)
    return ok('restricted-join-rule')
  }

  /** Flowchart `invite_rrk`, then `check_sender`. */
  private checkInvite (event: RoomEvent, id: string): LocalOutcome {
    if (own(event.content, ContentField.RoomRootKey) !== this.rootKey) return failure('wrong-rrk', 'invite_rrk', id)
    if (event.state_key === undefined || own(event.content, ContentField.UserKey) !== event.state_key) return failure('wrong-user', 'invite_rrk', id)
    return this.checkSender(event, id)
  }

  /** Flowchart `check_sender`, `sender_rsk_msk`, `lookup_sender_cause` (the recursion is the walk's). */
  private checkSender (event: RoomEvent, id: string): LocalOutcome {
    const signed = this.checkSigned(event, id, 'check_sender', 'sender_rsk_msk')
    if (!signed.ok) return signed
    const parentId = ownString(event.content, ContentField.ParentEventId)
    if (parentId === undefined) return failure('bad-parent', 'lookup_sender_cause', id)
    const parent = this.load(parentId)
    if (parent === undefined) return failure('missing-event', 'lookup_sender_cause', parentId, true)
    // "Lookup this event's parent event ID - i.e., the sender's cause-of-membership event": it
    // must be a join or create *of the sender*, or anyone's chain could be borrowed.
    if (!isCauseOf(parent, event.sender)) return failure('not-sender-cause', 'lookup_sender_cause', id)
    return { ok: true, signer: signed.signer, ts: event.origin_server_ts, parent: parentId }
  }

  // -------------------------------------------------------------------------------------------
  // Revocation overlay

  /**
   * The revocation failure on `eventId`'s verified chain, if any: the first event (from the
   * member up) signed by a UDK whose revocation in the current state covers its timestamp.
   * Memoised per event until the set of revocations changes.
   */
  private revoked (eventId: string): VerificationFailure | undefined {
    if (this.revocations.size === 0) return undefined
    const path: string[] = []
    let verdict: VerificationFailure | null | undefined
    let id: string | undefined = eventId
    while (id !== undefined) {
      verdict = this.overlay.get(id)
      if (verdict !== undefined) break
      const result = this.results.get(id)
      if (result === undefined || !result.ok) {
        verdict = null
        break
      }
      path.push(id)
      const revocation = this.revocations.get(result.signer)
      if (revocation !== undefined && revocation.revokedTs <= result.ts) {
        verdict = failure('revoked-device', 'revocation', id)
        break
      }
      id = result.parent
    }
    const final = verdict ?? null
    for (const node of path) this.overlay.set(node, final)
    return final ?? undefined
  }
}

/** True when `event` is a cause-of-membership event of `userId`: their join, or a create naming them creator. */
function isCauseOf (event: RoomEvent, userId: string): boolean {
  if (event.type === RoomEventType.Create) return own(event.content, ContentField.CreatorKey) === userId && event.sender === userId
  return event.type === RoomEventType.Member && membershipOf(event) === 'join' && event.state_key === userId && event.sender === userId
}

/** The least shape a proof event needs before it is verified. */
function isProofEvent (value: unknown): boolean {
  return isObject(value) && typeof value.type === 'string' && typeof value.room_id === 'string' && typeof value.sender === 'string' &&
    isObject(value.content)
}
