/**
 * Builders for authorization rule tables: events as plain PDUs with fake IDs, a room state as a
 * list of events, and the expected rule number per room version.
 */
import { checkAuth } from '../../../../protocols/core/auth/index.js'
import type { AuthHooks, AuthResult, PduLike } from '../../../../protocols/core/auth/index.js'
import { roomVersionRules } from '../../../../protocols/core/room-versions.js'

export const ALICE = '@alice:example.com'
export const BOB = '@bob:example.com'
export const CHARLIE = '@charlie:example.com'
export const EVE = '@eve:other.org'

/** Matrix room versions whose auth rules are tested (v1 shares v2's rules). */
export const MATRIX_VERSIONS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'] as const

/** Versions from `from` to `to` (inclusive) of {@link MATRIX_VERSIONS}. */
export function versions (from: number, to = 12): string[] {
  return MATRIX_VERSIONS.filter((v) => Number(v) >= from && Number(v) <= to)
}

/**
 * The entry of `table` for `version`: the value at the greatest key ≤ the version number.
 * E.g. `ruleFor('7', { 1: '6', 6: '5', 12: '6' })` is `'5'`.
 */
export function ruleFor (version: string, table: Record<number, string>): string {
  const v = Number(version)
  let best: string | undefined
  let bestKey = -1
  for (const [key, value] of Object.entries(table)) {
    const k = Number(key)
    if (k <= v && k > bestKey) { best = value; bestKey = k }
  }
  if (best === undefined) throw new Error(`no rule number for version ${version}`)
  return best
}

let counter = 0

/** A PDU of `roomId` with one placeholder prev event and no auth events. */
function pdu (roomId: string, eventId: string, ts: number, type: string, sender: string, content: Record<string, unknown>, stateKey: string | undefined, extra: Partial<PduLike>): PduLike {
  return {
    event_id: eventId,
    room_id: roomId,
    type,
    ...(stateKey === undefined ? {} : { state_key: stateKey }),
    sender,
    content,
    prev_events: ['$prev'],
    auth_events: [],
    origin_server_ts: ts,
    ...extra
  }
}

/**
 * An event maker for tests that build PDUs outside a {@link Room}: events of `roomId` whose IDs are
 * `prefix` + a counter (also their `origin_server_ts`), with one placeholder prev event.
 */
export function eventMaker (roomId: string, prefix: string): (type: string, sender: string, content: Record<string, unknown>, stateKey?: string, extra?: Partial<PduLike>) => PduLike {
  let n = 0
  return (type, sender, content, stateKey, extra = {}) => {
    n++
    return pdu(roomId, `${prefix}${n}`, n, type, sender, content, stateKey, extra)
  }
}

/** A room of one version with a create event by Alice. */
export class Room {
  readonly version: string
  readonly create: PduLike
  readonly roomId: string

  constructor (version: string, createContent?: Record<string, unknown>, creator = ALICE) {
    this.version = version
    const rules = roomVersionRules(version)
    const content = createContent ?? (rules.creatorIsSender ? { room_version: version } : { creator, room_version: version })
    if (rules.roomIdIsCreateEventHash) {
      this.create = { event_id: '$create', type: 'm.room.create', state_key: '', sender: creator, content, prev_events: [], auth_events: [], origin_server_ts: 0 }
      this.roomId = '!create'
    } else {
      this.roomId = '!room:example.com'
      this.create = { event_id: '$create', room_id: this.roomId, type: 'm.room.create', state_key: '', sender: creator, content, prev_events: [], auth_events: [], origin_server_ts: 0 }
    }
  }

  get rules (): ReturnType<typeof roomVersionRules> {
    return roomVersionRules(this.version)
  }

  /** An event of this room. */
  event (type: string, sender: string, content: Record<string, unknown>, stateKey?: string, extra: Partial<PduLike> = {}): PduLike {
    counter++
    return pdu(this.roomId, `$e${counter}`, counter, type, sender, content, stateKey, extra)
  }

  member (target: string, membership: string, sender = target, content: Record<string, unknown> = {}): PduLike {
    return this.event('m.room.member', sender, { membership, ...content }, target)
  }

  powerLevels (content: Record<string, unknown>, sender = ALICE): PduLike {
    return this.event('m.room.power_levels', sender, content, '')
  }

  joinRules (rule: string, sender = ALICE): PduLike {
    return this.event('m.room.join_rules', sender, { join_rule: rule }, '')
  }

  /** Power levels with Alice as admin (not listed in v12, where she is the creator). */
  adminPowerLevels (users: Record<string, number> = {}, extra: Record<string, unknown> = {}): PduLike {
    const base = this.rules.privilegedCreators ? {} : { [ALICE]: 100 }
    return this.powerLevels({ users: { ...base, ...users }, ...extra })
  }

  /** Check `event` against the create event plus `state`. */
  check (event: PduLike, state: readonly PduLike[], hooks?: AuthHooks): AuthResult {
    const all = [this.create, ...state]
    return checkAuth(this.rules, event, (type, stateKey) => {
      let found: PduLike | undefined
      for (const e of all) if (e.type === type && e.state_key === stateKey) found = e
      return found
    }, hooks)
  }

  /** A usual state: Alice joined (admin), public join rules, plus `more`. */
  state (...more: PduLike[]): PduLike[] {
    return [this.member(ALICE, 'join'), this.adminPowerLevels(), this.joinRules('public'), ...more]
  }
}

/** The rule number of a rejection (the text before the colon), or 'allow'. */
export function verdict (result: AuthResult): string {
  return result.ok ? 'allow' : result.rule.slice(0, result.rule.indexOf(':'))
}
