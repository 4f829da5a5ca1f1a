/**
 * Room-rules benchmarks (`npm run bench -- room`), each against a target and a baseline measured
 * in the same run:
 *
 * 1. State resolution of two forks of a 10,000-member room — Matrix room version 12 (the state
 *    resolution fixture: fake IDs, unsigned) and keyroom.1 (real signed events, keyroom auth
 *    hooks). Cold = the first call; warm = median and p99 of repeated calls. Target ≤ 100 ms warm.
 * 2. MSC3917 membership verification of a Matrix-HQ-size room (≈ 28,000 member events) from cold
 *    (fresh verifier, fresh `AttestationCache`) through the sliced API, interleaved slice by slice
 *    with raw native ed25519 verification of as many signatures as the slice verified. Targets:
 *    total ≤ 2.5 × raw verify time, no synchronous step > 50 ms.
 * 3. Authorization of one event (a message, a member event) in a large room: `checkRoomAuth` and
 *    `decide` (keyroom.1), with Matrix `checkAuth` on the v12 fixture room as the baseline.
 *
 * Latency targets (100 ms, 50 ms) are judged on main-thread CPU time, with wall time printed
 * beside it: on a shared 2-core machine wall time mostly measures the neighbours. Ratios are
 * judged on wall time, their two halves alternating so that they share the load.
 * Building the rooms signs tens of thousands of events; build times are printed apart and are
 * not part of any figure. The whole section takes ≈ 45 s here.
 */
import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import {
  AttestationCache, DEFAULT_SLICE_EVENTS, MembershipVerifier, authLookupOf, buildBan, buildInvite, buildJoin, buildKick, buildLeave,
  buildMessage, buildPowerLevels, buildTopic, buildVerifiedRoom, checkAuth, checkRoomAuth, decide, defaultBackend, eventSigner,
  keyroomAuthHooks, parsePdu, redactedEventBytes, resolveState, roomVersionRules, scenarioUser, stateMapKey, verifySignature,
  DEFAULT_POWER_LEVELS
} from '../protocols/core/index.js'
import type {
  AuthStateLookup, IdentifiedEvent, PduLike, RoomContext, RoomEvent, RoomState, ScenarioRoom, ScenarioUser, SignedPdu
} from '../protocols/core/index.js'
import { buildStateResScenario } from '../test/protocols/core/state-res/fixtures.js'
import type { StateResScenario } from '../test/protocols/core/state-res/fixtures.js'
import { measureInterleaved, ratio, report, timeOnce } from './harness.js'

/** Members of the state resolution rooms (issue requirement). */
const STATE_RES_MEMBERS = 10_000
/** Warm-up calls before the warm state resolution figures, and measured calls after them. */
const STATE_RES_WARMUP = 3
const STATE_RES_RUNS = 12
/**
 * Members of the Matrix-HQ-size room. `buildVerifiedRoom` gives each member an invite and a
 * join, so 14,000 members are 28,001 member events (with the creator's join) — the "≈ 28,000
 * member events" of the requirement.
 */
const HQ_MEMBERS = 14_000
/**
 * Verification passes over the HQ room, each from cold caches (fresh verifier and
 * `AttestationCache`). The first pass is also JIT-cold and is the one judged; later passes give
 * the warm-JIT figure for reference.
 */
const HQ_PASSES = 2
/** Timestamps of the scenario rooms' events (`buildVerifiedRoom` default) and of the forks' after them. */
const ROOM_TS = 1

/** The `q` quantile of ascending `sorted` (same definition as the harness: no interpolation). */
function percentile (sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

function ascending (values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b)
}

function line (label: string, text: string): void {
  console.log(`  ${label.padEnd(52)} ${text}`)
}

function ms (value: number): string {
  return `${value.toFixed(1).padStart(9)} ms`
}

/** Collects garbage when the bench runs with `--expose-gc` (`npm run bench` does), so one part's garbage is not timed in the next. */
function collectGarbage (): void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) gc()
}

/**
 * Main-thread CPU time (user + system), in milliseconds. The latency targets are judged on it:
 * it is what a synchronous call costs with a core to itself, so the verdict does not depend on
 * what else this 2-core machine runs (other test runs often do). Wall time is printed beside it.
 * Work of V8's helper threads (parallel GC) is not counted; main-thread GC pauses are.
 */
function threadCpuMs (): number {
  const usage = process.threadCpuUsage()
  return (usage.user + usage.system) / 1000
}

/** Wall and main-thread CPU milliseconds of one synchronous call. */
function timeSync (fn: () => unknown): { wall: number, cpu: number } {
  const cpu0 = threadCpuMs()
  const t0 = performance.now()
  fn()
  const wall = performance.now() - t0
  return { wall, cpu: threadCpuMs() - cpu0 }
}

function loadAverage (): string {
  return loadavg().map((x) => x.toFixed(2)).join(' ')
}

function yieldToEventLoop (): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

function fail (message: string): never {
  throw new Error(`room bench: ${message}`)
}

// ---------------------------------------------------------------------------------------------
// 1. State resolution

/**
 * Times `resolve` cold (first call), then warm: median and p99 over `STATE_RES_RUNS` calls after
 * `STATE_RES_WARMUP`. The target is judged on main-thread CPU time (see {@link threadCpuMs}).
 */
function timeResolution (label: string, resolve: () => Map<string, string>, check: (resolved: Map<string, string>) => void): void {
  collectGarbage()
  let resolved: Map<string, string> | undefined
  const cold = timeSync(() => { resolved = resolve() })
  check(resolved!)
  for (let i = 0; i < STATE_RES_WARMUP; i++) resolve()
  const runs: Array<{ wall: number, cpu: number }> = []
  for (let i = 0; i < STATE_RES_RUNS; i++) runs.push(timeSync(resolve))
  const wall = ascending(runs.map((r) => r.wall))
  const cpu = ascending(runs.map((r) => r.cpu))
  const p99 = percentile(cpu, 0.99)
  line(`${label}, cold (first call)`, `cpu ${cold.cpu.toFixed(1)} ms, wall ${cold.wall.toFixed(1)} ms`)
  line(`${label}, warm: ${STATE_RES_RUNS} runs (p99 = the slowest)`, `cpu median ${percentile(cpu, 0.5).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms; wall median ${percentile(wall, 0.5).toFixed(1)} ms, p99 ${percentile(wall, 0.99).toFixed(1)} ms`)
  ratio(`${label}: warm p99 (cpu) / 100 ms`, p99 / 100, '≤ 1', p99 <= 100)
}

function checkMatrixOutcome (scenario: StateResScenario, resolved: Map<string, string>): void {
  const membership = (user: string): unknown => {
    const id = resolved.get(stateMapKey('m.room.member', user))
    return id === undefined ? undefined : scenario.getEvent(id)?.content.membership
  }
  if (!scenario.banned.every((u) => membership(u) === 'ban')) fail('v12 resolution lost a ban')
  if (!scenario.kicked.every((u) => membership(u) === 'leave')) fail('v12 resolution lost a kick')
  if (!scenario.lateJoiners.every((u) => membership(u) === 'join')) fail('v12 resolution lost a late join')
  if (resolved.get(stateMapKey('m.room.topic', '')) !== scenario.topicA) fail('v12 resolution: fork A\'s topic should win')
}

/** The state as state resolution takes it: state map key → event ID. */
function stateMapOf (state: RoomState): Map<string, string> {
  const map = new Map<string, string>()
  for (const entry of state.entries()) map.set(stateMapKey(entry.event.type, entry.event.state_key!), entry.eventId)
  return map
}

/** A chain of events on a private copy of a state (a fork, or the room before it); events go into `events`. */
class Fork {
  readonly state: RoomState
  private readonly roomId: string
  private tips: string[]
  private depth: number
  private ts: number

  constructor (from: { state: RoomState, context: RoomContext, ts: number }, private readonly events: Map<string, RoomEvent>) {
    this.state = from.state.clone()
    this.roomId = from.context.roomId
    this.tips = [...from.context.prevEvents]
    this.depth = from.context.depth
    this.ts = from.ts
  }

  context (): RoomContext {
    return { roomId: this.roomId, prevEvents: this.tips, depth: this.depth, state: this.state }
  }

  /** The next timestamp (strictly after every earlier event of this chain). */
  at (): { originServerTs: number } {
    return { originServerTs: ++this.ts }
  }

  /** Where a fork from the tip of this chain starts. */
  tip (): { state: RoomState, context: RoomContext, ts: number } {
    return { state: this.state, context: this.context(), ts: this.ts }
  }

  add (entry: IdentifiedEvent): IdentifiedEvent {
    this.events.set(entry.eventId, entry.event)
    this.state.apply(entry)
    this.tips = [entry.eventId]
    this.depth = entry.event.depth + 1
    return entry
  }
}

/** The keyroom.1 twin of the v12 fixture (`buildStateResScenario`), with real signed events. */
interface KeyroomForks {
  readonly room: ScenarioRoom
  readonly getEvent: (eventId: string) => RoomEvent | undefined
  readonly stateSets: [Map<string, string>, Map<string, string>]
  readonly banned: readonly string[]
  readonly kicked: readonly string[]
  readonly left: readonly string[]
  readonly lateJoiners: readonly string[]
  readonly topicA: string
  readonly eventCount: number
}

/**
 * Two forks of a keyroom.1 room with `members` joined members (each invited by the creator and
 * joined, full MSC3917 chains). Before the fork the creator makes member 0 a moderator (50).
 * Then, concurrently:
 * - fork A: the creator bans 1% of the members, promotes member 1 to 50, sets the topic;
 * - fork B: the moderator kicks another 1%, 1% leave by themselves (keyroom.1's stand-in for the
 *   v12 fixture's display-name changes: a profile change there would need a new MSC3917 join),
 *   the moderator sets the topic and invites 1% new users, who join.
 * Expected, as in the v12 fixture: every ban, kick, leave and late join applies; fork A's power
 * levels and topic win.
 */
function buildKeyroomForks (members: number): KeyroomForks {
  const room = buildVerifiedRoom(members, { label: 'bench/state-res', originServerTs: ROOM_TS })
  const events = new Map(room.events)
  const creator = room.creator.device
  const moderator = room.members[0]!
  const slice = Math.max(1, Math.floor(members / 100))
  const powerLevels = (users: Record<string, number>): Record<string, unknown> => ({ ...DEFAULT_POWER_LEVELS, invite: 0, users })

  // Before the fork: the moderator.
  const pre = new Fork({ state: room.state, context: room.builder.context(), ts: ROOM_TS }, events)
  pre.add(buildPowerLevels(creator, pre.context(), { ...pre.at(), content: powerLevels({ [moderator.userId]: 50 }) }))

  const a = new Fork(pre.tip(), events)
  const banned: string[] = []
  for (let i = 1; i <= slice; i++) {
    const target = room.members[i + 1]!.userId
    banned.push(target)
    a.add(buildBan(creator, a.context(), { ...a.at(), target }))
  }
  a.add(buildPowerLevels(creator, a.context(), { ...a.at(), content: powerLevels({ [moderator.userId]: 50, [room.members[1]!.userId]: 50 }) }))
  const topicA = a.add(buildTopic(creator, a.context(), { ...a.at(), topic: 'fork A' })).eventId

  const b = new Fork(pre.tip(), events)
  const kicked: string[] = []
  for (let i = slice + 1; i <= 2 * slice; i++) {
    const target = room.members[i + 1]!.userId
    kicked.push(target)
    b.add(buildKick(moderator.device, b.context(), { ...b.at(), target }))
  }
  const left: string[] = []
  for (let i = 2 * slice + 1; i <= 3 * slice; i++) {
    const leaver = room.members[i + 1]!
    left.push(leaver.userId)
    b.add(buildLeave(leaver.device, b.context(), b.at()))
  }
  b.add(buildTopic(moderator.device, b.context(), { ...b.at(), topic: 'fork B' }))
  const lateJoiners: string[] = []
  for (let i = 0; i < slice; i++) {
    const joiner = scenarioUser(`bench/state-res/late/${i}`)
    lateJoiners.push(joiner.userId)
    b.add(buildInvite(moderator.device, b.context(), { ...b.at(), target: joiner.userId }))
    b.add(buildJoin(joiner.device, b.context(), { ...b.at(), via: { kind: 'invite' } }))
  }
  return {
    room,
    getEvent: (eventId) => events.get(eventId),
    stateSets: [stateMapOf(a.state), stateMapOf(b.state)],
    banned,
    kicked,
    left,
    lateJoiners,
    topicA,
    eventCount: events.size
  }
}

function checkKeyroomOutcome (forks: KeyroomForks, resolved: Map<string, string>): void {
  const membership = (user: string): unknown => {
    const id = resolved.get(stateMapKey('m.room.member', user))
    return id === undefined ? undefined : forks.getEvent(id)?.content.membership
  }
  if (!forks.banned.every((u) => membership(u) === 'ban')) fail('keyroom.1 resolution lost a ban')
  if (!forks.kicked.every((u) => membership(u) === 'leave')) fail('keyroom.1 resolution lost a kick')
  if (!forks.left.every((u) => membership(u) === 'leave')) fail('keyroom.1 resolution lost a leave')
  if (!forks.lateJoiners.every((u) => membership(u) === 'join')) fail('keyroom.1 resolution lost a late join')
  if (resolved.get(stateMapKey('m.room.topic', '')) !== forks.topicA) fail('keyroom.1 resolution: fork A\'s topic should win')
}

function stateResolutionBench (v12: StateResScenario, forks: KeyroomForks): void {
  console.log(`\n## State resolution: two forks of a ${STATE_RES_MEMBERS.toLocaleString('en')}-member room (target ≤ 100 ms warm)`)
  line('v12 fixture', `${v12.eventCount} events (unsigned, fake IDs), conflicted: ${conflicted(v12.stateSets)} keys`)
  timeResolution('v12', () => resolveState('12', v12.stateSets, v12.getEvent), (r) => checkMatrixOutcome(v12, r))

  line('keyroom.1 room', `${forks.eventCount} signed events, conflicted: ${conflicted(forks.stateSets)} keys`)
  // One cache across calls, as a node keeps one: the cold call starts it empty, so it pays for
  // every attestation and the RRK signature the auth checks read; warm calls find them cached.
  const attestations = new AttestationCache()
  const hooks = keyroomAuthHooks({ getEvent: forks.getEvent, attestations })
  let coldStatements = 0
  timeResolution('keyroom.1', () => resolveState('keyroom.1', forks.stateSets, forks.getEvent, { authHooks: hooks }), (r) => {
    coldStatements = attestations.stats.verified
    checkKeyroomOutcome(forks, r)
  })
  line('keyroom.1 statements verified in the cold call', `${coldStatements} (warm calls: ${attestations.stats.verified - coldStatements})`)
}

/** Number of state keys whose event differs between the two forks (or exists in one only). */
function conflicted (sets: readonly [ReadonlyMap<string, string>, ReadonlyMap<string, string>]): number {
  const [a, b] = sets
  let n = 0
  for (const [key, id] of a) if (b.get(key) !== id) n++
  for (const key of b.keys()) if (!a.has(key)) n++
  return n
}

// ---------------------------------------------------------------------------------------------
// 2. Membership verification of a Matrix-HQ-size room

/** One signature of the room, verified again and again as the raw baseline. */
interface RawSample {
  readonly key: Uint8Array
  readonly bytes: Uint8Array
  readonly signature: Uint8Array
}

/** A member's join: its UDK signature over its redacted form — exactly what the verifier checks per event. */
function rawSample (room: ScenarioRoom): RawSample {
  const join = room.state.entry('m.room.member', room.members[room.members.length - 1]!.userId)!.event
  const signer = eventSigner(join)
  if (!signer.ok) fail('the sample join has no UDK signature')
  return { key: signer.deviceKey, bytes: redactedEventBytes(join, roomVersionRules('keyroom.1').redaction), signature: signer.signature }
}

/** Verifies `count` signatures natively (cached key, as `bench/crypto.ts`'s baseline). */
function rawVerify (sample: RawSample, count: number): { wall: number, cpu: number } {
  return timeSync(() => {
    for (let i = 0; i < count; i++) {
      if (!verifySignature(sample.key, sample.bytes, sample.signature, { backend: 'native' })) fail('raw verify failed')
    }
  })
}

/** Wall and main-thread CPU milliseconds. */
interface Span {
  wall: number
  cpu: number
}

function addSpan (to: Span, span: Span): void {
  to.wall += span.wall
  to.cpu += span.cpu
}

interface VerificationPass {
  /** Feeding the current membership (`applyState` × members). */
  feed: Span
  /** Each synchronous step of `verifyAll` (the event-loop turns between them excluded). */
  steps: Span[]
  /** Raw native verify of as many signatures, in chunks between the steps. */
  raw: Span
  signatures: number
  eventSignatures: number
  statements: number
  eventsChecked: number
}

/** Feed plus every step: the verification work of a pass. */
function verifyTotal (pass: VerificationPass): Span {
  const total = { ...pass.feed }
  for (const step of pass.steps) addSpan(total, step)
  return total
}

/**
 * Verifies every member of `room` from cold through `verifyAll` (default slices), and between
 * slices verifies natively as many raw signatures as the slice did — so both halves of the ratio
 * run under the same machine load, alternating every ~10–25 ms.
 *
 * Signatures per slice: `stats.eventSignatures` (one UDK signature per event checked) plus two
 * per statement the `AttestationCache` verified (`stats.verified`: an attestation carries a UPK
 * and a UDK signature; the one RRK check, counted there too, has a single signature — an
 * overcount of one).
 */
async function verifyPass (room: ScenarioRoom, sample: RawSample): Promise<VerificationPass> {
  collectGarbage()
  const cache = new AttestationCache()
  let verifier: MembershipVerifier | undefined
  const feed = timeSync(() => {
    verifier = new MembershipVerifier({ roomId: room.roomId, getEvent: room.getEvent, attestations: cache })
    for (const entry of room.state.ofType('m.room.member')) verifier.applyState(entry)
  })
  const v = verifier!
  const signatures = (): number => v.stats.eventSignatures + 2 * cache.stats.verified
  const steps: Span[] = []
  const raw: Span = { wall: 0, cpu: 0 }
  let baselined = 0
  let wall0 = performance.now()
  let cpu0 = threadCpuMs()
  const endStep = (): void => { steps.push({ wall: performance.now() - wall0, cpu: threadCpuMs() - cpu0 }) }
  await v.verifyAll({
    yieldControl: async () => {
      endStep()
      const n = signatures() - baselined
      addSpan(raw, rawVerify(sample, n))
      baselined += n
      await yieldToEventLoop()
      wall0 = performance.now()
      cpu0 = threadCpuMs()
    }
  })
  endStep()
  addSpan(raw, rawVerify(sample, signatures() - baselined))

  const members = v.allMembers()
  const unverified = members.filter((m) => !m.verified).length
  if (members.length !== room.members.length + 1 || unverified > 0) fail(`${unverified} of ${members.length} members unverified`)
  return {
    feed,
    steps,
    raw,
    signatures: signatures(),
    eventSignatures: v.stats.eventSignatures,
    statements: cache.stats.verified,
    eventsChecked: v.stats.eventsChecked
  }
}

async function membershipVerificationBench (): Promise<void> {
  console.log('\n## MSC3917 membership verification: a Matrix-HQ-size room, from cold (targets ≤ 2.5 × raw verify, no step > 50 ms)')
  collectGarbage()
  let room: ScenarioRoom | undefined
  // Tree of invitations (fanout 8): chains several invites deep, as in a real room.
  const buildMs = await timeOnce(() => { room = buildVerifiedRoom(HQ_MEMBERS, { shape: 'tree', label: 'bench/hq' }) })
  const memberEvents = room!.timeline.filter((e) => e.event.type === 'm.room.member').length
  line('build (sign every event; not timed below)', `${ms(buildMs)}  ${HQ_MEMBERS.toLocaleString('en')} members, ${memberEvents.toLocaleString('en')} member events`)
  const sample = rawSample(room!)
  line('ed25519 backend of the verifier', defaultBackend())

  const passes: VerificationPass[] = []
  for (let p = 0; p < HQ_PASSES; p++) passes.push(await verifyPass(room!, sample))
  const cold = passes[0]!
  line('signatures verified (events + 2 × statements)', `${cold.signatures} = ${cold.eventSignatures} + 2 × ${cold.statements}  (${cold.eventsChecked} events checked)`)
  for (const [p, pass] of passes.entries()) {
    const label = p === 0 ? 'cold pass (first run: JIT and caches cold)' : `pass ${p + 1} (fresh caches, JIT warm)`
    const total = verifyTotal(pass)
    line(label, `verify ${total.wall.toFixed(0)} ms (feed ${pass.feed.wall.toFixed(0)} + ${pass.steps.length} steps), raw ${pass.raw.wall.toFixed(0)} ms → ${(total.wall / pass.raw.wall).toFixed(2)}× wall, ${(total.cpu / pass.raw.cpu).toFixed(2)}× cpu`)
    line('', `${(pass.raw.wall * 1000 / pass.signatures).toFixed(1)} µs per raw verify; ${(total.wall * 1000 / pass.eventsChecked).toFixed(1)} µs per event checked`)
  }
  // The ratio is judged on wall time: the two halves alternate slice by slice, so they share the load.
  const coldTotal = verifyTotal(cold)
  const coldRatio = coldTotal.wall / cold.raw.wall
  ratio('cold verify / raw native verify (same signatures)', coldRatio, '≤ 2.5', coldRatio <= 2.5)

  // The step target is judged on main-thread CPU time (threadCpuMs); wall time shown beside it.
  const describe = (pass: VerificationPass): { cpu: number[], wall: number[] } =>
    ({ cpu: ascending(pass.steps.map((x) => x.cpu)), wall: ascending(pass.steps.map((x) => x.wall)) })
  const summary = (values: number[]): string =>
    `median ${percentile(values, 0.5).toFixed(1)}, p99 ${percentile(values, 0.99).toFixed(1)}, max ${values[values.length - 1]!.toFixed(1)} ms`
  for (const [p, pass] of passes.entries()) {
    const d = describe(pass)
    const name = `steps (maxEvents ${DEFAULT_SLICE_EVENTS}), ${p === 0 ? 'cold pass' : `pass ${p + 1}`}`
    line(`${name}, cpu`, summary(d.cpu))
    line(`${name}, wall`, summary(d.wall))
  }
  const coldSteps = describe(cold).cpu
  const maxStep = coldSteps[coldSteps.length - 1]!
  ratio('longest synchronous step (cpu, cold pass) / 50 ms', maxStep / 50, '≤ 1', maxStep <= 50)
}

// ---------------------------------------------------------------------------------------------
// 3. Authorization of one event

/** A Matrix auth-state lookup over a fixture state map (the fixture's events are already `PduLike`). */
function matrixLookup (state: ReadonlyMap<string, string>, getEvent: (id: string) => PduLike | undefined): AuthStateLookup {
  return (type, stateKey) => {
    const id = state.get(stateMapKey(type, stateKey))
    return id === undefined ? undefined : getEvent(id)
  }
}

/** A v12 event in the fixture room: auth events from the state, as a homeserver would pick them. */
function matrixEvent (v12: StateResScenario, state: ReadonlyMap<string, string>, fields: { type: string, sender: string, stateKey?: string, content: Record<string, unknown> }, name: string): PduLike {
  const pick = (type: string, stateKey: string): string[] => {
    const id = state.get(stateMapKey(type, stateKey))
    return id === undefined ? [] : [id]
  }
  const create = pick('m.room.create', '')[0]!
  const auth = [...pick('m.room.power_levels', ''), ...pick('m.room.member', fields.sender)]
  if (fields.type === 'm.room.member') auth.push(...pick('m.room.join_rules', ''))
  return {
    event_id: `$${name}`,
    room_id: '!' + create.slice(1),
    type: fields.type,
    ...(fields.stateKey === undefined ? {} : { state_key: fields.stateKey }),
    sender: fields.sender,
    content: fields.content,
    prev_events: [],
    auth_events: auth,
    origin_server_ts: v12.eventCount + 1,
    depth: 0
  }
}

function signedPduOf (entry: IdentifiedEvent): SignedPdu {
  const parsed = parsePdu(entry.event, entry.eventId)
  if (!parsed.ok) fail(`unparseable event: ${parsed.reason}`)
  return { ...parsed.pdu, signatures: entry.event.signatures }
}

function authBench (v12: StateResScenario, forks: KeyroomForks): void {
  console.log(`\n## Authorization of one event in a ${STATE_RES_MEMBERS.toLocaleString('en')}-member room (µs per event; baseline Matrix v12 checkAuth)`)
  const v12Rules = roomVersionRules('12')
  const keyroomRules = roomVersionRules('keyroom.1')
  const v12State = v12.stateSets[0]
  const v12Lookup = matrixLookup(v12State, v12.getEvent)
  const member = '@user5000:example.com'
  const v12Message = matrixEvent(v12, v12State, { type: 'm.room.message', sender: member, content: { msgtype: 'm.text', body: 'hello' } }, 'bench-message')
  const newcomer = '@newcomer:example.com'
  const v12Join = matrixEvent(v12, v12State, { type: 'm.room.member', sender: newcomer, stateKey: newcomer, content: { membership: 'join' } }, 'bench-join')

  // keyroom.1: the pre-fork room (10,000 members), a message by a member, and a newcomer's join
  // through an invite (the invite applied to a copy of the state first).
  const room = forks.room
  const events = new Map<string, RoomEvent>()
  const getEvent = (id: string): RoomEvent | undefined => events.get(id) ?? forks.getEvent(id)
  const sender: ScenarioUser = room.members[5000]!
  const context = room.builder.context()
  const ts = { originServerTs: ROOM_TS + 1 }
  const message = buildMessage(sender.device, context, { ...ts, body: 'hello' })
  const state = room.state.clone()
  const invited = scenarioUser('bench/auth/newcomer')
  const invite = buildInvite(room.creator.device, context, { ...ts, target: invited.userId })
  events.set(invite.eventId, invite.event)
  state.apply(invite)
  const join = buildJoin(invited.device, { ...context, prevEvents: [invite.eventId], depth: invite.event.depth + 1, state }, { ...ts, via: { kind: 'invite' } })
  const lookup = authLookupOf(state)
  const attestations = new AttestationCache()

  const cases: Array<{ name: string, matrix: PduLike, keyroom: IdentifiedEvent }> = [
    { name: 'message', matrix: v12Message, keyroom: message },
    { name: 'member (join)', matrix: v12Join, keyroom: join }
  ]
  for (const c of cases) {
    const pdu = signedPduOf(c.keyroom)
    const decideContext = { eventId: c.keyroom.eventId, getEvent, stateBefore: lookup, currentState: lookup, now: ROOM_TS + 2, attestations }
    // Outcomes first: a benchmark of a refusal would measure the wrong path.
    const matrixOk = checkAuth(v12Rules, c.matrix, v12Lookup)
    if (!matrixOk.ok) fail(`v12 ${c.name} refused: ${matrixOk.rule}`)
    const roomOk = checkRoomAuth(keyroomRules, pdu, lookup, { attestations })
    if (!roomOk.ok) fail(`keyroom.1 ${c.name} refused: ${roomOk.rule}`)
    const decision = decide(c.keyroom.event, decideContext)
    if (decision.outcome !== 'accepted') fail(`keyroom.1 ${c.name} not accepted: ${JSON.stringify(decision)}`)

    const baselineFn = (): void => { if (!checkAuth(v12Rules, c.matrix, v12Lookup).ok) fail('refused') }
    const [base, roomAuth] = measureInterleaved(
      { name: `${c.name}: Matrix v12 checkAuth (baseline)`, fn: baselineFn, batch: 200 },
      { name: `${c.name}: keyroom.1 checkRoomAuth`, fn: () => { if (!checkRoomAuth(keyroomRules, pdu, lookup, { attestations }).ok) fail('refused') }, batch: 200 },
      { budgetMs: 1000 }
    )
    const [base2, decided] = measureInterleaved(
      { name: `${c.name}: Matrix v12 checkAuth (baseline, again)`, fn: baselineFn, batch: 200 },
      { name: `${c.name}: keyroom.1 decide (receipt checks 4–6)`, fn: () => { if (decide(c.keyroom.event, decideContext).outcome !== 'accepted') fail('not accepted') }, batch: 50 },
      { budgetMs: 1000 }
    )
    report(base)
    report(roomAuth)
    report(decided)
    ratio(`${c.name}: checkRoomAuth / checkAuth (median)`, roomAuth.p50us / base.p50us, '(info)', true)
    ratio(`${c.name}: decide / checkAuth (median)`, decided.p50us / base2.p50us, '(info)', true)
  }
}

// ---------------------------------------------------------------------------------------------

/** The `room` section of `npm run bench`. */
export async function runRoomBench (): Promise<void> {
  console.log('\n# Room rules: state resolution, MSC3917 membership verification, authorization (one core)')
  console.log(`  load average at start: ${loadAverage()} (latency targets are judged on main-thread CPU time)`)
  const section0 = performance.now()
  let v12: StateResScenario | undefined
  let forks: KeyroomForks | undefined
  const v12Ms = await timeOnce(() => { v12 = buildStateResScenario(STATE_RES_MEMBERS, '12') })
  const keyroomMs = await timeOnce(() => { forks = buildKeyroomForks(STATE_RES_MEMBERS) })
  console.log(`  builds: v12 fixture ${v12Ms.toFixed(0)} ms, keyroom.1 signed room ${keyroomMs.toFixed(0)} ms (not timed below)`)
  stateResolutionBench(v12!, forks!)
  authBench(v12!, forks!)
  v12 = undefined
  forks = undefined
  await membershipVerificationBench()
  console.log(`  (room section: ${((performance.now() - section0) / 1000).toFixed(1)} s; load average at end: ${loadAverage()})`)
}
