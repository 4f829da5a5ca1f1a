/**
 * The seeded convergence fuzzer's rig: N honest nodes on 127.0.0.1 in one room, a script of
 * rounds (messages, state changes, device revocations, partitions and heals, nodes going down and
 * coming back on the same data directory), then heal, bring everyone back into the room, wait
 * (bounded) for quiescence, and check that every node converged (final-state.ts). A node whose
 * script revokes a device first links a spare device of its user at setup (its attestation is
 * recorded in the room); the revocation then replaces that record.
 *
 * Anti-vacuity: each partition episode records the state events acknowledged on each side; when
 * at least two sides changed state, the rig checks — before healing — that no side holds the
 * other's event (the partition really isolated them). A run whose script meant to diverge but
 * never did fails: a fuzzer that never forks tests nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ErrorCode, KeyroomError, createNode } from '../../node/index.js'
import { checkConvergence, formatDag, readFinalRoom } from './final-state.js'
import { Partition } from './network.js'
import { InProcessNode, ProcessNode } from './nodes.js'
import { Probe } from './probe.js'
import { formatAction, generateScript } from './script.js'
import type { FinalRoom, Violation } from './final-state.js'
import type { FuzzNode } from './nodes.js'
import type { Action, Script, ScriptOptions } from './script.js'

/** How nodes run. */
export type NodeMode = 'in-process' | 'process'

/** Options of {@link runFuzz}. */
export interface FuzzOptions extends ScriptOptions {
  /** Run this script instead of generating one (a replay of a failure log). */
  script?: Script
  /** In this process (default), or one child process per node (`kill -9` possible). */
  mode?: NodeMode
  /** Bound on the members' heads agreeing after the final heal without new events, ms (default 8 000; an observation). */
  healTimeoutMs?: number
  /** Bound on quiescence after the final flush, ms (default 20 000; a violation past it). */
  quiescenceTimeoutMs?: number
  /** Fail a run whose script partitions the network but never diverges (default true; off for hand-written regressions). */
  requireDivergence?: boolean
  /** Count accepted-versus-soft-failed differences between nodes as violations (default false; see final-state.ts). */
  strictSoftFail?: boolean
  /** Keep the nodes' data directories (default: removed); the report's `root` names them. */
  keepDirs?: boolean
  /** Progress lines (default: none). */
  log?: (line: string) => void
  /** Makes the handle of node `index` (the process mode plugs in here). */
  makeNode?: (index: number, name: string, dataDir: string, partition: Partition) => FuzzNode
}

/** One executed action. */
export interface ActionRecord {
  round: number
  action: Action
  outcome: 'ok' | 'refused' | 'error'
  eventId?: string
  detail?: string
  ms: number
}

/** A partition episode: its groups and the state events each side acknowledged. */
export interface Episode {
  round: number
  groups: number[][]
  /** Per group index: acknowledged state events. */
  stateAcks: string[][]
  /** Two or more sides changed state, and neither holds the other's events (checked before the heal). */
  diverged: boolean
  /** State changes the script planned in this episode that the node's rules refused. */
  refused: number
  note?: string
}

/** What a run found. */
export interface FuzzReport {
  seed: number
  nodes: number
  rounds: number
  mode: NodeMode
  ok: boolean
  violations: Violation[]
  records: ActionRecord[]
  episodes: Episode[]
  /** ms from the final heal to the members' heads agreeing, without any new event (undefined: not within the bound). */
  healMs: number | undefined
  /** ms from the flush (everyone back in the room, each node sends once) to every node's heads agreeing. */
  quiescenceMs: number | undefined
  totalMs: number
  acked: number
  /** Events some nodes accepted and others soft-failed (allowed unless `strictSoftFail`). */
  softFailSplits: Violation[]
  /** Acknowledged events soft-failed where held, not built upon, and missing on some nodes (allowed unless `strictSoftFail`). */
  uncarried: Violation[]
  /**
   * Set when the script meant to diverge and no episode did, because the nodes' rules refused the
   * state changes planned for it (the script's model of the room was behind the room): nothing to
   * blame on convergence, and nothing shown about it either.
   */
  inconclusive?: string
  finalRooms: FinalRoom[]
  script: Script
  /** Parent of the nodes' data directories (removed unless `keepDirs`). */
  root: string
}

const STATE_OPS: ReadonlySet<Action['op']> = new Set(['topic', 'power', 'invite', 'join', 'leave', 'kick', 'ban', 'unban', 'revoke'])

/** Runs one fuzz run. Never throws for a failed invariant: the report says so (it throws for a broken rig). */
export async function runFuzz (options: FuzzOptions): Promise<FuzzReport> {
  const script = options.script ?? generateScript(options)
  const rig = new Rig(script, options)
  try {
    return await rig.run()
  } finally {
    await rig.cleanup()
  }
}

class Rig {
  readonly script: Script
  readonly options: FuzzOptions
  readonly partition = new Partition()
  readonly nodes: FuzzNode[] = []
  readonly probes: Array<Probe | undefined> = []
  /** Per node that revokes in the script: the device ID of its user's spare device. */
  readonly spares: Array<string | undefined> = []
  /** The rooms the last revocation was recorded in (the action log's detail). */
  revokedIn: number | undefined
  readonly records: ActionRecord[] = []
  readonly episodes: Episode[] = []
  /** Acknowledged event ID → what it was. */
  readonly acked = new Map<string, string>()
  readonly violations: Violation[] = []
  readonly log: (line: string) => void
  root = ''
  roomId = ''
  round = -1

  constructor (script: Script, options: FuzzOptions) {
    this.script = script
    this.options = options
    this.log = options.log ?? (() => {})
  }

  async run (): Promise<FuzzReport> {
    const started = Date.now()
    await this.setup()
    for (let r = 0; r < this.script.actions.length; r++) {
      this.round = r
      for (const action of this.script.actions[r]!) await this.execute(action)
      await this.settle()
    }
    this.round = this.script.actions.length
    const { healMs, quiescenceMs } = await this.finish()
    const finalRooms = await this.collect()
    const convergence = checkConvergence(finalRooms, this.acked, { strict: this.options.strictSoftFail === true })
    this.violations.push(...convergence.violations)
    if (convergence.violations.length > 0 || convergence.softFailSplits.length > 0) {
      const names = new Map(this.nodes.map(n => [n.identity.userId, n.name]))
      this.log('the rooms\' DAG (A accepted, S soft-failed, R rejected, . not stored):')
      for (const line of formatDag(finalRooms, names)) this.log(`  ${line}`)
    }
    const meantToDiverge = this.options.requireDivergence !== false && this.script.actions.some(round => round.some(a => a.op === 'partition'))
    let inconclusive: string | undefined
    if (meantToDiverge && !this.episodes.some(e => e.diverged)) {
      const detail = `the script partitions the network but no episode diverged:\n    ${this.episodes.map(e => `r${e.round} ${JSON.stringify(e.groups)}: ${e.note ?? 'no conflicting state'}${e.refused > 0 ? ` (${e.refused} planned state change(s) refused)` : ''}`).join('\n    ')}`
      if (this.episodes.some(e => e.refused > 0)) inconclusive = detail
      else this.violations.push({ invariant: 'anti-vacuity', detail })
    }
    return {
      seed: this.script.seed,
      nodes: this.script.nodes,
      rounds: this.script.rounds,
      mode: this.options.mode ?? 'in-process',
      ok: this.violations.length === 0,
      violations: this.violations,
      records: this.records,
      episodes: this.episodes,
      healMs,
      quiescenceMs,
      totalMs: Date.now() - started,
      acked: this.acked.size,
      softFailSplits: convergence.softFailSplits,
      uncarried: convergence.uncarried,
      ...(inconclusive === undefined ? {} : { inconclusive }),
      finalRooms,
      script: this.script,
      root: this.root
    }
  }

  async cleanup (): Promise<void> {
    for (const probe of this.probes) await probe?.stop().catch(() => {})
    for (const node of this.nodes) if (node.running) await node.stop().catch(() => {})
    if (this.root !== '' && this.options.keepDirs !== true) await rm(this.root, { recursive: true, force: true })
  }

  // -------------------------------------------------------------------------------------------
  // Setup: N nodes, their probes, a full mesh, one room everybody joined.

  async setup (): Promise<void> {
    const t0 = Date.now()
    this.root = await mkdtemp(join(tmpdir(), 'keyroom-fuzz-'))
    const make = this.options.makeNode ?? ((index: number, name: string, dataDir: string, partition: Partition): FuzzNode =>
      (this.options.mode === 'process' ? new ProcessNode(index, name, dataDir, partition) : new InProcessNode(index, name, dataDir, partition)))
    for (let i = 0; i < this.script.nodes; i++) {
      const node = make(i, `n${i}`, join(this.root, `n${i}`), this.partition)
      this.nodes.push(node)
    }
    await Promise.all(this.nodes.map(async n => { await n.start() }))
    for (const node of this.nodes) {
      this.probes[node.index] = await Probe.start({
        name: `p${node.index}`,
        dataDir: join(this.root, `p${node.index}`),
        nodeDataDir: node.dataDir,
        recoveryPhrase: node.identity.recoveryPhrase,
        index: node.index,
        partition: this.partition,
        target: () => (node.running ? { peerId: node.identity.peerId, multiaddrs: node.multiaddrs() } : undefined)
      })
    }
    await this.connectAllowed()
    const a = this.nodes[0]!
    this.roomId = await a.createRoom('fuzz')
    for (const node of this.nodes.slice(1)) await this.bringIn(node, { timeout: 15_000 })
    await waitUntil(async () => {
      for (const n of this.nodes) if ((await n.members(this.roomId)).filter(m => m.membership === 'join').length !== this.nodes.length) return false
      return true
    }, 15_000, 'everyone sees every member joined')
    const revokers = new Set(this.script.actions.flat().flatMap(a => (a.op === 'revoke' ? [a.node] : [])))
    for (const index of [...revokers].sort((a, b) => a - b)) this.spares[index] = await this.linkSpare(this.nodes[index]!)
    this.log(`room ${this.roomId} with ${this.nodes.map(n => `${n.name}=${n.identity.userId.slice(0, 10)}`).join(' ')}, set up in ${Date.now() - t0} ms`)
  }

  /**
   * A second device of `node`'s user, linked by `node` (its attestation is then recorded in the
   * room) and stopped again: the device a `revoke` action revokes. Bounded.
   */
  async linkSpare (node: FuzzNode): Promise<string> {
    let linking: Promise<string> | undefined
    const signal = AbortSignal.timeout(30_000)
    const spare = await createNode({
      dataDir: join(this.root, `s${node.index}`),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      loggerPrefix: `s${node.index}`,
      durableWrites: false,
      link: { onRequest: (request) => { linking = node.linkDevice(request.text) }, signal }
    })
    try {
      if (linking === undefined) throw new Error(`${node.name}'s spare device was linked without asking`)
      const deviceId = await linking
      if (deviceId !== spare.deviceId) throw new Error(`${node.name} linked ${deviceId}, not its spare device ${spare.deviceId}`)
      this.log(`${node.name} linked its spare device ${deviceId.slice(0, 10)}`)
      return deviceId
    } finally {
      await spare.stop()
    }
  }

  /** Node 0 invites `node` (unbanning first through its probe if needed) and `node` joins; bounded. */
  async bringIn (node: FuzzNode, options: { timeout: number }): Promise<void> {
    const a = this.nodes[0]!
    const userId = node.identity.userId
    await waitUntil(async () => (await a.knownUsers()).includes(userId), options.timeout, `n0 met ${node.name}'s user`)
    const membershipAtN0 = async (): Promise<string | undefined> => (await a.members(this.roomId)).find(m => m.userId === userId)?.membership
    const own = async (): Promise<string | undefined> => await node.members(this.roomId).then(ms => ms.find(m => m.userId === userId)?.membership, () => 'unknown room')
    let membership = await membershipAtN0()
    this.log(`bring in ${node.name}: n0 says ${membership ?? '-'}, ${node.name} says ${await own() ?? '-'}`)
    if (membership === 'join') {
      // Joined in the room's state, though the node may hold a removal that lost state resolution
      // (the remover was banned or demoted concurrently): it must find out by itself, in bounded
      // time (the node takes a second look after a removal). Or n0 has not decided the node's
      // own leave yet (n0 restarted and is fetching its parents): then n0 stops saying `join`.
      await waitUntil(async () => (await own()) === 'join' || (membership = await membershipAtN0()) !== 'join',
        options.timeout, `${node.name} learns that its removal was overturned`, 200)
      if (membership === 'join') return
      this.log(`bring in ${node.name}: n0 now says ${membership ?? '-'}`)
    }
    if (membership === 'ban') this.acked.set(await a.unban(this.roomId, userId), `final unban of ${node.name}`)
    this.acked.set(await a.invite(this.roomId, userId), `invite of ${node.name}`)
    // Joining catches the room up from the connected members first, so it works even where the
    // invite itself did not reach the node (a node off the room's topic learns of it only by
    // direct delivery; see test/fuzz/regressions.test.ts for the rejoin cases).
    let lastError: unknown
    await waitUntil(async () => {
      try {
        const id = await node.join(this.roomId)
        if (id !== undefined) this.acked.set(id, `join of ${node.name}`)
        return true
      } catch (err) {
        lastError = err
        return false
      }
    }, options.timeout, `${node.name} joins`, 200).catch((err: unknown) => {
      throw new Error(`${message(err)} (last: ${message(lastError)})`)
    })
  }

  /** Dials every pair of running nodes the partition allows that is not connected yet, and each probe to its node. */
  async connectAllowed (): Promise<void> {
    const running = this.nodes.filter(n => n.running)
    for (const a of running) {
      const connected = new Set(await a.connectedPeers())
      for (const b of running) {
        if (b.index <= a.index || connected.has(b.identity.peerId) || !this.partition.nodesMayTalk(a.index, b.index)) continue
        try {
          await a.connect(b.multiaddrs())
        } catch (err) {
          this.log(`dial ${a.name} → ${b.name} failed: ${message(err)}`)
        }
      }
    }
    for (const node of running) await this.probes[node.index]?.attach().catch(() => {})
  }

  // -------------------------------------------------------------------------------------------
  // Actions

  async execute (action: Action): Promise<void> {
    const t0 = Date.now()
    const record: ActionRecord = { round: this.round, action, outcome: 'ok', ms: 0 }
    try {
      this.revokedIn = undefined
      const result = await this.perform(action)
      if (result !== undefined) record.eventId = result
      if (this.revokedIn !== undefined) record.detail = `recorded in ${this.revokedIn} room(s)`
    } catch (err) {
      record.outcome = err instanceof KeyroomError ? 'refused' : 'error'
      record.detail = err instanceof KeyroomError ? `${err.code}: ${err.message}` : message(err)
    }
    record.ms = Date.now() - t0
    if (record.outcome === 'refused' && STATE_OPS.has(action.op)) {
      const episode = this.openEpisode()
      if (episode !== undefined) episode.refused++
    }
    if (record.outcome === 'ok' && record.eventId !== undefined) {
      // Idempotent calls (an invite of someone already invited or joined) return an existing event.
      const fresh = !this.acked.has(record.eventId)
      if (fresh) this.acked.set(record.eventId, `r${this.round} ${formatAction(action)}`)
      else record.detail = 'an existing event'
      if (fresh && STATE_OPS.has(action.op) && 'node' in action) {
        const episode = this.openEpisode()
        if (episode !== undefined) {
          const g = episode.groups.findIndex(members => members.includes(action.node))
          if (g >= 0) episode.stateAcks[g]!.push(record.eventId)
        }
      }
    }
    this.records.push(record)
    this.log(`r${this.round} ${formatAction(action)} → ${record.outcome}${record.detail === undefined ? '' : ` (${record.detail})`} ${record.ms}ms`)
  }

  openEpisode (): Episode | undefined {
    const last = this.episodes[this.episodes.length - 1]
    return last !== undefined && this.partition.groups().length > 0 ? last : undefined
  }

  /** Runs one action; returns the acknowledged event ID, a probe write's outcome, or nothing. */
  async perform (action: Action): Promise<string | undefined> {
    const roomId = this.roomId
    switch (action.op) {
      case 'partition': {
        // What was said before the split reaches everyone first (bounded): the script plans each
        // side's moves on the state before it.
        await this.settle()
        this.partition.split(action.groups)
        this.episodes.push({ round: this.round, groups: action.groups.map(g => [...g]), stateAcks: action.groups.map(() => []), diverged: false, refused: 0 })
        for (const node of this.nodes) await node.applyPartition()
        return undefined
      }
      case 'heal': {
        await this.closeEpisode()
        this.partition.heal()
        for (const node of this.nodes) await node.applyPartition()
        await this.connectAllowed()
        return undefined
      }
      case 'stop': case 'kill': {
        const node = this.nodes[action.node]!
        if (action.op === 'kill') await node.kill()
        else await node.stop()
        return undefined
      }
      case 'start': {
        await this.nodes[action.node]!.start()
        await this.nodes[action.node]!.applyPartition()
        await this.connectAllowed()
        return undefined
      }
      case 'send': return await this.live(action.node).send(roomId, action.body)
      case 'invite': return await this.live(action.node).invite(roomId, this.userOf(action.target))
      case 'join': return await this.live(action.node).join(roomId)
      case 'leave': return await this.live(action.node).leave(roomId)
      case 'kick': return await this.live(action.node).kick(roomId, this.userOf(action.target))
      case 'ban': return await this.live(action.node).ban(roomId, this.userOf(action.target))
      case 'topic': return await this.live(action.node).setTopic(roomId, action.topic)
      case 'power': return await this.live(action.node).setPowerLevel(roomId, this.userOf(action.target), action.level)
      case 'revoke': {
        const deviceId = this.spares[action.node]
        if (deviceId === undefined) throw new Error(`n${action.node} has no spare device`)
        this.revokedIn = await this.live(action.node).revokeDevice(deviceId)
        return undefined
      }
      case 'unban': {
        const node = this.live(action.node)
        const target = this.userOf(action.target)
        if ((await node.members(roomId)).find(m => m.userId === target)?.membership !== 'ban') {
          throw new KeyroomError(ErrorCode.Forbidden, 'the target is not banned there')
        }
        return await node.unban(roomId, target)
      }
    }
  }

  live (index: number): FuzzNode {
    const node = this.nodes[index]!
    if (!node.running) throw new KeyroomError(ErrorCode.NotStarted, `${node.name} is down`)
    return node
  }

  userOf (index: number): string {
    return this.nodes[index]!.identity.userId
  }


  /**
   * Before a heal: when two or more sides acknowledged state events, check that no side holds
   * another side's (the partition isolated them). Sets `diverged`.
   */
  async closeEpisode (): Promise<void> {
    const episode = this.openEpisode()
    if (episode === undefined) return
    const sides = episode.groups.map((members, g) => ({ members, acks: episode.stateAcks[g]! })).filter(s => s.acks.length > 0)
    if (sides.length < 2) {
      episode.note = `${sides.length} side(s) changed state`
      return
    }
    for (const side of sides) {
      for (const other of sides) {
        if (other === side) continue
        // Any running member of `other` whose node still lets its probe read the room.
        for (const index of other.members) {
          if (!this.nodes[index]!.running) continue
          let held: Set<string>
          try {
            held = await this.probes[index]!.has(this.roomId, side.acks)
          } catch {
            continue
          }
          if (held.size > 0) {
            this.violations.push({ invariant: 'partition', detail: `r${this.round}: n${index} holds ${[...held].join(', ')} acknowledged on the other side of ${JSON.stringify(episode.groups)} before the heal` })
            episode.note = 'leaked'
            return
          }
          episode.diverged = true
          break
        }
      }
    }
    if (!episode.diverged) episode.note = 'no readable node on the other sides'
  }

  /** End of a round: bounded wait until, within each group, the running members' heads agree. */
  async settle (): Promise<void> {
    const groups = this.partition.groups().length > 0 ? this.partition.groups() : [this.nodes.map(n => n.index)]
    await waitUntil(async () => {
      for (const group of groups) {
        const heads = new Set<string>()
        for (const index of group) {
          if (!this.nodes[index]!.running) continue
          try {
            heads.add((await this.probes[index]!.heads(this.roomId)).join(','))
          } catch {
            // Not a member (any more): nothing to compare.
          }
        }
        if (heads.size > 1) return false
      }
      return true
    }, 2_000, 'settle').catch(() => {})
  }

  // -------------------------------------------------------------------------------------------
  // The end: everyone up, healed, back in the room; quiescence; the final rooms.

  /**
   * Everyone up and healed; then (A) without any new event, a bounded wait for the members' heads
   * to agree — an observation, since soft-fail decisions taken at different times can keep forks
   * apart until someone speaks (Matrix forward extremities only merge in a new event); then
   * everyone is brought back into the room, each node says one last thing (the flush, which merges
   * every fork it holds), and (B) a bounded wait for every node to report the same heads, twice
   * in a row — a violation when it does not come.
   */
  async finish (): Promise<{ healMs?: number, quiescenceMs?: number }> {
    for (const node of this.nodes) {
      if (!node.running) await this.execute({ op: 'start', node: node.index })
    }
    if (this.partition.groups().length > 0) await this.execute({ op: 'heal' })
    await this.connectAllowed()
    const healed = Date.now()
    const out: { healMs?: number, quiescenceMs?: number } = {}
    try {
      await this.quiescence(this.options.healTimeoutMs ?? 8_000, { membersOnly: true })
      out.healMs = Date.now() - healed
    } catch (err) {
      this.log(`no quiescence without new events: ${message(err)}`)
    }
    for (const node of this.nodes.slice(1)) {
      try {
        await this.bringIn(node, { timeout: 10_000 })
      } catch (err) {
        this.violations.push({ invariant: 'rejoin', detail: `${node.name} could not be brought back into the room: ${message(err)}` })
      }
    }
    const flushed = Date.now()
    for (const node of this.nodes) {
      try {
        const eventId = await node.send(this.roomId, `flush n${node.index}`)
        this.acked.set(eventId, `flush of ${node.name}`)
      } catch (err) {
        this.violations.push({ invariant: 'flush', detail: `${node.name}, brought back into the room, cannot send: ${message(err)}` })
      }
    }
    try {
      await this.quiescence(this.options.quiescenceTimeoutMs ?? 20_000)
      out.quiescenceMs = Date.now() - flushed
    } catch (err) {
      this.violations.push({ invariant: 'quiescence', detail: message(err) })
    }
    return out
  }

  /** Waits until every node reports the same heads twice in a row (bounded). */
  async quiescence (timeout: number, options: { membersOnly?: boolean } = {}): Promise<void> {
    let previous = ''
    let last: string[] = []
    await waitUntil(async () => {
      const all: string[] = []
      for (const node of this.nodes) {
        try {
          all.push((await this.probes[node.index]!.heads(this.roomId)).join(','))
        } catch (err) {
          // A node that is not a member does not let its probe read the room.
          if (options.membersOnly !== true) all.push(`unreadable: ${message(err)}`)
        }
      }
      last = all
      const same = all.length > 0 && all.every(h => h === all[0] && !h.startsWith('unreadable'))
      const key = all.join('|')
      const stable = same && key === previous
      previous = key
      return stable
    }, timeout, 'quiescence', 150).catch((err: unknown) => {
      throw new Error(`${message(err)}; heads: ${last.map((h, i) => `n${i}=[${h}]`).join(' ')}`)
    })
  }

  async collect (): Promise<FinalRoom[]> {
    const api = []
    for (const node of this.nodes) {
      api.push({ members: await node.members(this.roomId), messages: await node.messages(this.roomId) })
    }
    for (const probe of this.probes) await probe?.stop()
    this.probes.length = 0
    for (const node of this.nodes) await node.stop()
    const rooms: FinalRoom[] = []
    for (const node of this.nodes) rooms.push(await readFinalRoom(node.name, node.dataDir, this.roomId, api[node.index]!))
    return rooms
  }
}

/** Polls `predicate` every `interval` ms until it holds; throws after `timeout` ms. */
export async function waitUntil (predicate: () => Promise<boolean> | boolean, timeout: number, what: string, interval = 25): Promise<void> {
  const deadline = Date.now() + timeout
  for (;;) {
    try {
      if (await predicate()) return
    } catch {
      // Not yet.
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, interval))
  }
}

function message (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** The report as text: seed, the violations, and the action log that reproduces the run. */
export function formatReport (report: FuzzReport): string {
  const lines = [
    `keyroom fuzz seed=${report.seed} nodes=${report.nodes} rounds=${report.rounds} mode=${report.mode}: ${report.ok ? 'OK' : 'FAILED'}`,
    `  ${report.acked} events acknowledged; ${report.episodes.filter(e => e.diverged).length}/${report.episodes.length} partition episodes diverged; heads agree ${report.healMs === undefined ? 'never (bounded)' : `${report.healMs} ms`} after the final heal, ${report.quiescenceMs ?? '-'} ms after the flush; ${report.totalMs} ms in all`
  ]
  if (report.inconclusive !== undefined) lines.push(`  inconclusive: ${report.inconclusive}`)
  if (report.softFailSplits.length > 0) lines.push(`  ${report.softFailSplits.length} event(s) accepted by some nodes and soft-failed by others (Matrix receipt check 6 is local)`)
  for (const u of report.uncarried) lines.push(`  uncarried: ${u.detail}`)
  for (const v of report.violations) lines.push(`  ✗ ${v.invariant}: ${v.detail}`)
  if (!report.ok) {
    lines.push(`  reproduce: npm run fuzz -- --seed ${report.seed} --nodes ${report.nodes} --rounds ${report.rounds}${report.mode === 'process' ? ' --processes' : ''}`)
    lines.push('  action log (outcome per action):')
    for (const r of report.records) {
      lines.push(`    r${r.round} ${formatAction(r.action)} → ${r.outcome}${r.detail === undefined ? '' : ` (${r.detail})`}${r.eventId === undefined ? '' : ` ${r.eventId}`}`)
    }
  }
  return lines.join('\n')
}
