/**
 * The fuzzer's action script: a pure function of (seed, nodes, rounds, restart style). The script
 * is generated up front from the PRNG and a rough model of the room (who is joined, invited,
 * banned, who holds power, per side of a partition), so a seed always names the same actions; what
 * the nodes make of them (accept, refuse) is recorded when the script runs. The model only steers
 * the choice towards actions that can succeed — the nodes decide.
 *
 * Node 0 creates the room (creators have unbounded power in room version 12 and keyroom.1, and
 * nobody can kick or ban them), so it never leaves: the room always has an anchor.
 *
 * Device revocations come from a second PRNG stream (seeded from the seed too), appended to a
 * round, so adding them left every other action of a seed as it was.
 */
import { Prng } from './prng.js'

/** One step of a script. Node and target are node indices. */
export type Action =
  | { op: 'partition', groups: number[][] }
  | { op: 'heal' }
  | { op: 'stop', node: number }
  /** Stop without a goodbye: `kill -9` of a node process (in-process nodes stop gracefully instead). */
  | { op: 'kill', node: number }
  | { op: 'start', node: number }
  | { op: 'send', node: number, body: string }
  | { op: 'topic', node: number, topic: string }
  | { op: 'power', node: number, target: number, level: number }
  | { op: 'invite', node: number, target: number }
  | { op: 'join', node: number }
  | { op: 'leave', node: number }
  | { op: 'kick', node: number, target: number }
  | { op: 'ban', node: number, target: number }
  | { op: 'unban', node: number, target: number }
  /** The node revokes its user's spare device (a second device the rig links at setup). */
  | { op: 'revoke', node: number }

/** What a script is made for. */
export interface ScriptOptions {
  seed: number
  /** Nodes (≥ 2). */
  nodes: number
  /** Rounds of actions. */
  rounds: number
  /** How nodes go down: graceful stops, `kill -9` (node processes), or never. */
  downs?: 'stop' | 'kill' | 'none'
}

/** A generated script: rounds of actions (each round ends with a settle the runner adds). */
export interface Script extends Required<ScriptOptions> {
  rounds: number
  actions: Action[][]
}

type Membership = 'join' | 'invite' | 'leave' | 'ban'

/** One side's belief about the room. */
interface View {
  membership: Membership[]
  power: number[]
}

const CREATOR_POWER = Number.POSITIVE_INFINITY

/** Mixed into the seed for the device-revocation stream. */
const DEVICE_STREAM = 0x6a09e667
/** Chance that a round ends with a device revocation. */
const REVOKE_CHANCE = 0.2

function cloneView (v: View): View {
  return { membership: [...v.membership], power: [...v.power] }
}

/** Generates the script for `options` (see the module comment). */
export function generateScript (options: ScriptOptions): Script {
  const { seed, nodes, rounds } = options
  const downs = options.downs ?? 'stop'
  if (!Number.isInteger(nodes) || nodes < 2) throw new Error('a script needs at least 2 nodes')
  const rng = new Prng(seed)
  const deviceRng = new Prng((seed ^ DEVICE_STREAM) >>> 0)
  const revoked = new Set<number>()
  // Everyone starts joined (the runner sets the room up); node 0 is the creator.
  const initial: View = { membership: Array.from({ length: nodes }, () => 'join' as const), power: Array.from({ length: nodes }, (_, i) => (i === 0 ? CREATOR_POWER : 0)) }
  /** Group of each node (all 0 when healed) and each group's view. */
  let groupOf: number[] = Array.from({ length: nodes }, () => 0)
  let views: View[] = [initial]
  let down: number | undefined
  const out: Action[][] = []

  const powerOf = (v: View, i: number): number => v.power[i] ?? 0
  const joined = (v: View, i: number): boolean => v.membership[i] === 'join'
  const up = (i: number): boolean => down !== i

  for (let r = 0; r < rounds; r++) {
    const round: Action[] = []
    // A moderator early on, so both sides of a partition can change state.
    if (r === 0 && nodes > 1) {
      round.push({ op: 'power', node: 0, target: 1, level: 100 })
      views[0]!.power[1] = 100
    }

    // Topology.
    const partitioned = views.length > 1
    if (!partitioned && nodes >= 2 && rng.chance(r === 0 ? 0.5 : 0.45)) {
      const groupCount = nodes >= 5 && rng.chance(0.3) ? 3 : 2
      // Two sides that can both change state: node 0 on one, a moderator on another (made one
      // first when there is none that is up and joined).
      const view = views[0]!
      let mods = Array.from({ length: nodes }, (_, i) => i).filter(i => i !== 0 && up(i) && joined(view, i) && powerOf(view, i) >= 50)
      if (mods.length === 0 && up(0)) {
        const candidates = Array.from({ length: nodes }, (_, i) => i).filter(i => i !== 0 && up(i) && joined(view, i))
        if (candidates.length > 0) {
          const target = rng.pick(candidates)
          round.push({ op: 'power', node: 0, target, level: 100 })
          view.power[target] = 100
          mods = [target]
        }
      }
      const order = rng.shuffle(Array.from({ length: nodes }, (_, i) => i).filter(i => i !== 0 && i !== mods[0]))
      const groups: number[][] = Array.from({ length: groupCount }, () => [])
      groups[0]!.push(0)
      groups[1]!.push(mods[0] ?? order.shift()!)
      for (let g = 2; g < groupCount; g++) groups[g]!.push(order.shift()!)
      for (const i of order) groups[rng.int(0, groupCount - 1)]!.push(i)
      for (const g of groups) g.sort((a, b) => a - b)
      rng.shuffle(groups).forEach((g, k) => { groups[k] = g })
      // Conflicting state on each side, so the run diverges: the topic, where someone may set it.
      // With fewer than two sides able to (node 0 or the moderator down, the moderator removed),
      // the partition could not diverge: the round does without it.
      const actors = groups.map(members => members.find(i => up(i) && joined(view, i) && powerOf(view, i) >= 50))
      if (actors.filter(a => a !== undefined).length >= 2) {
        round.push({ op: 'partition', groups })
        groupOf = Array.from({ length: nodes }, (_, i) => groups.findIndex(g => g.includes(i)))
        views = groups.map(() => cloneView(view))
        actors.forEach((actor, g) => {
          if (actor !== undefined) round.push({ op: 'topic', node: actor, topic: `r${r} side ${g} by n${actor}` })
        })
      }
    } else if (partitioned && rng.chance(0.4)) {
      round.push({ op: 'heal' })
      views = [mergeViews(views, groupOf)]
      groupOf = groupOf.map(() => 0)
    }

    // Downs and ups.
    if (downs !== 'none') {
      if (down === undefined && rng.chance(0.25)) {
        const candidate = rng.int(0, nodes - 1)
        down = candidate
        round.push(downs === 'kill' ? { op: 'kill', node: candidate } : { op: 'stop', node: candidate })
      } else if (down !== undefined && rng.chance(0.6)) {
        round.push({ op: 'start', node: down })
        down = undefined
      }
    }

    // Room actions.
    const count = rng.int(2, 5)
    for (let k = 0; k < count; k++) {
      const actors = Array.from({ length: nodes }, (_, i) => i).filter(i => up(i))
      if (actors.length === 0) break
      const actor = rng.pick(actors)
      const view = views[groupOf[actor] ?? 0]!
      const mates = Array.from({ length: nodes }, (_, i) => i).filter(i => i !== actor && (groupOf[i] ?? 0) === (groupOf[actor] ?? 0))
      const action = pickAction(rng, { actor, view, nodes, mates, round: r, index: k, powerOf, joined })
      if (action === undefined) continue
      round.push(action)
      applyToView(view, action)
    }

    // A device revocation now and then: by a node that is up and joined on its side, once.
    if (deviceRng.chance(REVOKE_CHANCE)) {
      const candidates = Array.from({ length: nodes }, (_, i) => i).filter(i => up(i) && !revoked.has(i) && joined(views[groupOf[i] ?? 0]!, i))
      if (candidates.length > 0) {
        const node = deviceRng.pick(candidates)
        revoked.add(node)
        round.push({ op: 'revoke', node })
      }
    }
    out.push(round)
  }
  return { seed, nodes, rounds, downs, actions: out }
}

function pickAction (rng: Prng, ctx: {
  actor: number
  view: View
  nodes: number
  mates: number[]
  round: number
  index: number
  powerOf: (v: View, i: number) => number
  joined: (v: View, i: number) => boolean
}): Action | undefined {
  const { actor, view, nodes, powerOf, joined } = ctx
  const me = powerOf(view, actor)
  const others = Array.from({ length: nodes }, (_, i) => i).filter(i => i !== actor)
  if (!joined(view, actor)) {
    // Not in the room: join when invited, else nothing to do.
    return view.membership[actor] === 'invite' ? { op: 'join', node: actor } : undefined
  }
  const kickable = others.filter(i => i !== 0 && joined(view, i) && powerOf(view, i) < me)
  const invitable = others.filter(i => view.membership[i] === 'leave')
  const banned = others.filter(i => view.membership[i] === 'ban')
  const weights = {
    send: 4,
    topic: me >= 50 ? 1.2 : 0,
    power: me >= 100 ? 0.8 : 0,
    invite: me >= 50 && invitable.length > 0 ? 1.5 : 0,
    leave: actor === 0 ? 0 : 0.4,
    kick: me >= 50 && kickable.length > 0 ? 0.6 : 0,
    ban: me >= 50 && kickable.length > 0 ? 0.4 : 0,
    unban: me >= 50 && banned.length > 0 ? 1 : 0
  }
  switch (rng.weighted(weights)) {
    case 'send': return { op: 'send', node: actor, body: `r${ctx.round}.${ctx.index} n${actor}` }
    case 'topic': return { op: 'topic', node: actor, topic: `r${ctx.round}.${ctx.index} by n${actor}` }
    case 'power': {
      const target = rng.pick(others.filter(i => i !== 0).length > 0 ? others.filter(i => i !== 0) : others)
      return { op: 'power', node: actor, target, level: rng.pick([0, 50, 100]) }
    }
    case 'invite': return { op: 'invite', node: actor, target: rng.pick(invitable) }
    case 'leave': return { op: 'leave', node: actor }
    case 'kick': return { op: 'kick', node: actor, target: rng.pick(kickable) }
    case 'ban': return { op: 'ban', node: actor, target: rng.pick(kickable) }
    case 'unban': return { op: 'unban', node: actor, target: rng.pick(banned) }
  }
  return undefined
}

/** The model's (optimistic) effect of an action on a side's view. */
function applyToView (view: View, action: Action): void {
  switch (action.op) {
    case 'power': view.power[action.target] = action.level; break
    case 'invite': view.membership[action.target] = 'invite'; break
    case 'join': view.membership[action.node] = 'join'; break
    case 'leave': view.membership[action.node] = 'leave'; break
    case 'kick': view.membership[action.target] = 'leave'; break
    case 'ban': view.membership[action.target] = 'ban'; break
    case 'unban': view.membership[action.target] = 'leave'; break
    default: break
  }
}

/** A guess at the merged view after healing: the most severe membership wins; power from node 0's side. */
function mergeViews (views: View[], groupOf: number[]): View {
  const severity: Record<Membership, number> = { ban: 3, leave: 2, invite: 1, join: 0 }
  const creatorSide = views[groupOf[0] ?? 0] ?? views[0]!
  const merged = cloneView(creatorSide)
  for (let i = 0; i < merged.membership.length; i++) {
    for (const v of views) {
      const m = v.membership[i]!
      if (severity[m] > severity[merged.membership[i]!]) merged.membership[i] = m
    }
  }
  return merged
}

/** One line per action, for logs and failure messages. */
export function formatAction (action: Action): string {
  switch (action.op) {
    case 'partition': return `partition ${action.groups.map(g => `{${g.map(i => `n${i}`).join(',')}}`).join(' | ')}`
    case 'heal': return 'heal'
    case 'stop': case 'kill': case 'start': case 'join': case 'leave': return `${action.op} n${action.node}`
    case 'revoke': return `n${action.node} revokes its spare device`
    case 'send': return `n${action.node} send ${JSON.stringify(action.body)}`
    case 'topic': return `n${action.node} topic ${JSON.stringify(action.topic)}`
    case 'power': return `n${action.node} power n${action.target} = ${action.level}`
    case 'invite': case 'kick': case 'ban': case 'unban': return `n${action.node} ${action.op} n${action.target}`
  }
}
