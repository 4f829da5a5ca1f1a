/**
 * Room gossip across a 20-node loopback network (`npm run bench -- gossip`), each figure against
 * raw gossipsub measured in the same run:
 *
 * 1. **Latency**: time from `send()` on one node until every node of the room has the message
 *    (its `message` event), p50/p99, senders rotating, one event at a time. The baseline is raw
 *    `@libp2p/gossipsub` (`StrictNoSign`, the node's transports and router options, no validator)
 *    publishing a payload of the same size, timed until every other node has it. The two alternate
 *    sample by sample so both see the same machine load. Target: keyroom p50 ≤ 1.2 × raw p50.
 * 2. **Capacity** (closed loop): at most 8 events in flight (sent, not yet on every node), four
 *    senders, 6 s per side in rounds that alternate between the two networks — what each delivers
 *    per second when it is the bottleneck, and the CPU time one event costs the whole network.
 *    Info, and the ratio of the two.
 * 3. **Sustained load** (open loop): 1,000 events/s for 10 s from four senders, event k offered at
 *    k ms, then a bounded drain (60 s: what is still missing then counts as lost). PASS needs all
 *    10,000 sent within the window, on every node no later than 1 s after it, and zero loss (every
 *    node ends with every event). Raw gossipsub runs the same schedule first.
 *
 * All nodes live in this one process, on one event loop: every figure includes the work of all 20
 * receivers one after another, as on a CPU-bound host, so the CPU time per event (printed) is what
 * latency and capacity follow. Nodes use `durableWrites: false` — 20 nodes fsyncing on one shared
 * disk would measure the disk queue, not the node (the node section measures fsync'd sends). The
 * mesh is complete, dialled in paced rounds (libp2p takes at most five inbound connections per
 * second from one host).
 *
 * Diagnostics printed with each phase (read them before the figures when something misses):
 * connections closed during the phase, sync requests made to fill gaps under gossiped events (each
 * is a network round trip on the gossip path), and the wall time the room's topic validator — the
 * node's whole ingest pipeline, which runs before gossipsub forwards an event — took per received
 * event (wall time: it includes waiting for the other nodes' work on the shared event loop).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub, StrictNoSign } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { GOSSIP_IP_COLOCATION_WHITELIST, GOSSIP_MAX_OUTBOUND_BUFFER_BYTES } from '../node/constants.js'
import { createNode } from '../node/index.js'
import { ROOM_MESH_DEGREE, roomTopic } from '../protocols/gossip/index.js'
import { ratio } from './harness.js'
import { ensureTopicMesh, pacedFullMesh } from './mesh.js'
import { collectGarbage, infoLine, latencyLine, sleep, summarize, waitUntil } from './stats.js'
import type { KeyroomNode } from '../node/index.js'
import type { Summary } from './stats.js'
import type { GossipSub, TopicValidatorFn } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'

/** Options of {@link runGossipBench}. */
export interface GossipBenchOptions {
  /** Nodes in each network (default 20). */
  nodes?: number
  /** Measured latency samples per side (default 150), after 10 warm-up samples. */
  samples?: number
  /** Closed-loop capacity run per side, seconds (default 6, in two alternating rounds; 0 skips it). */
  capacitySeconds?: number
  /** Sustained load: events per second (default 1000) … */
  rate?: number
  /** … for this many seconds (default 10; 0 skips it) … */
  seconds?: number
  /** … from this many nodes, round-robin (default 4; also the capacity run's senders). */
  senders?: number
  /**
   * Longest wait after a load window for stragglers, ms (default 60 000): loss is what never
   * arrives, and an overloaded network drains its backlog for a while (printed: the last arrival).
   */
  drainMs?: number
  /** Closed-loop capacity run: events in flight at most (default 8). */
  capacityWindow?: number
}

/** What one load run achieved. */
export interface LoadResult {
  /** Events offered (the schedule's total; for the closed loop, the events issued). */
  offered: number
  /** Events handed over (`send()` / `publish()` resolved). */
  sent: number
  /** Offered events that were not sent (failed, never resolved, or not issued in the window). */
  unsent: number
  /** Sent events that reached every node by the end of the drain. */
  complete: number
  /** Sent events missing on at least one node at the end. */
  lost: number
  /** Fewest events any one node had. */
  worstNode: number
  /** Events each node had. */
  perNode: number[]
  /** Events on every node ÷ seconds from the first send until the last of them was on every node. */
  achievedRate: number
  /** When the last event reached its last node, ms after the load window closed (negative: before). */
  lagMs: number
  /** From the first send until the last event was on every node, ms. */
  activeMs: number
  /** Time until `send()`/`publish()` resolved. */
  sendLatency: Summary
  /** CPU time of this process per event on every node, ms (user + system, all nodes). */
  cpuMsPerEvent: number
  /** CPU time of this process during the run, ms. */
  cpuMs: number
  /** Longest event-loop stall seen during the run, ms. */
  maxLoopStallMs: number
  connectionsClosed: number
  /** Gap-fill sync requests during the run (keyroom only). */
  syncRequests?: number
}

/** What {@link runGossipBench} measured (milliseconds unless named otherwise). */
export interface GossipBenchResult {
  eventBytes: number
  raw: Summary
  keyroom: Summary
  ratioP50: number
  ratioP99: number
  /** CPU time per event delivered to every node during the latency phase, ms. */
  cpuMsPerEvent: { raw: number, keyroom: number }
  /** Keyroom `send()` alone (build, sign, store) during the latency phase. */
  keyroomSend: Summary
  /** Wall time of the topic validator (the ingest pipeline) per received event, latency phase. */
  keyroomValidate: Summary
  latencyLost: { raw: number, keyroom: number }
  capacity?: { raw: LoadResult, keyroom: LoadResult }
  sustained?: { raw: LoadResult, keyroom: LoadResult }
}

type RawNode = Libp2p<{ pubsub: GossipSub, identify: Identify }>

/**
 * Arrival counting for one phase: keys starting with `prefix`, complete once seen `copies` times
 * (the number of nodes that receive each event), and per-node totals.
 */
class Arrivals {
  readonly #counts = new Map<string, number>()
  readonly #waiters = new Map<string, (t: number) => void>()
  readonly perNode: number[]
  completed = 0
  lastCompleteAt = 0

  constructor (readonly prefix: string, readonly copies: number, nodes: number) {
    this.perNode = new Array<number>(nodes).fill(0)
  }

  arrive (key: string, node: number): void {
    if (!key.startsWith(this.prefix + '.')) return
    this.perNode[node]!++
    const n = (this.#counts.get(key) ?? 0) + 1
    this.#counts.set(key, n)
    if (n !== this.copies) return
    const now = performance.now()
    this.completed++
    this.lastCompleteAt = now
    const waiter = this.#waiters.get(key)
    if (waiter !== undefined) {
      this.#waiters.delete(key)
      waiter(now)
    }
  }

  /** Resolves with the time the key's last copy arrived; `undefined` after `timeoutMs`. */
  async expect (key: string, timeoutMs: number): Promise<number | undefined> {
    if ((this.#counts.get(key) ?? 0) >= this.copies) return performance.now()
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      return await new Promise<number | undefined>(resolve => {
        this.#waiters.set(key, resolve)
        timer = setTimeout(() => { this.#waiters.delete(key); resolve(undefined) }, timeoutMs)
      })
    } finally {
      clearTimeout(timer)
    }
  }
}

/** Key of a message: its text up to the first `|` (bodies and payloads start with it). */
const keyOf = (text: string): string => text.slice(0, Math.max(0, text.indexOf('|')))
const decoder = new TextDecoder()
const encoder = new TextEncoder()
/** Message filler: keyroom events of ≈ 1.6 KiB (the body is a short chat line; the rest is the PDU). */
const FILLER = 'The quick brown fox jumps over the lazy dog. '.repeat(4)

function countCloses (nodes: readonly Libp2p[]): { readonly count: number } {
  const counter = { count: 0 }
  for (const node of nodes) node.addEventListener('connection:close', () => { counter.count++ })
  return counter
}

/** CPU milliseconds (user + system) of this process since `since`. */
function cpuMsSince (since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1000
}

/** Tracks the longest event-loop stall (timer lateness) while running. */
function stallMeter (): { stop: () => number } {
  let max = 0
  let last = performance.now()
  const timer = setInterval(() => {
    const now = performance.now()
    max = Math.max(max, now - last - 10)
    last = now
  }, 10)
  return { stop: () => { clearInterval(timer); return max } }
}

// ---------------------------------------------------------------------------------------------
// Networks

interface KeyroomNet {
  nodes: KeyroomNode[]
  roomId: string
  dirs: string[]
  arrivals: Arrivals
  closes: { readonly count: number }
  /** Gap-fill sync requests (client side), all nodes. */
  syncRequests: () => number
  /** Validator durations are recorded while this is set. */
  validateTimes: number[] | undefined
  /** Pairs hung up and re-dialled because one did not see the other on the room topic. */
  topicRepairs: number
}

async function startKeyroomNet (count: number): Promise<KeyroomNet> {
  const dirs: string[] = []
  const nodes: KeyroomNode[] = []
  const net: KeyroomNet = {
    nodes, roomId: '', dirs, arrivals: new Arrivals('-', count, count), closes: { count: 0 }, syncRequests: () => 0, validateTimes: undefined, topicRepairs: 0
  }
  try {
    for (let i = 0; i < count; i++) {
      const dir = await mkdtemp(join(tmpdir(), 'keyroom-bench-gossip-'))
      dirs.push(dir)
      const node = await createNode({ dataDir: dir, listen: ['/ip4/127.0.0.1/tcp/0'], loggerPrefix: `gossip-${i}`, durableWrites: false })
      nodes.push(node)
    }
    net.closes = countCloses(nodes.map(n => n.libp2p))
    await pacedFullMesh(nodes.map(n => n.libp2p))
    await waitUntil(() => nodes.every(n => n.peers().length >= count - 1 && n.peers().every(p => p.userId !== undefined)), 30_000, 'every node to know every peer\'s user (hello)')

    const [first, ...rest] = nodes
    const roomId = await first!.createRoom({ name: 'gossip bench' })
    net.roomId = roomId
    await Promise.all(rest.map(async node => { await first!.invite(roomId, node.userId) }))
    await Promise.all(rest.map(async node => {
      await waitUntil(async () => (await node.rooms()).some(r => r.roomId === roomId && r.membership === 'invite'), 30_000, 'invites delivered')
      await node.join(roomId)
    }))
    await waitUntil(async () => {
      for (const node of nodes) if ((await node.members(roomId)).filter(m => m.membership === 'join').length !== count) return false
      return true
    }, 60_000, 'every node to see every join')
    net.topicRepairs = await ensureTopicMesh(nodes.map(n => n.libp2p), i => nodes[i]!.libp2p.services.roomGossip.subscribers(roomId).map(p => p.toString()))

    nodes.forEach((node, i) => {
      node.addEventListener('message', e => { net.arrivals.arrive(keyOf(String(e.detail.content.body)), i) })
      // Diagnostics only: count the sync client's requests, time the room topic's validator.
      const sync = node.libp2p.services.sync
      let requests = 0
      const events = sync.events.bind(sync)
      const missing = sync.missing.bind(sync)
      sync.events = async (...args) => { requests++; return await events(...args) }
      sync.missing = async (...args) => { requests++; return await missing(...args) }
      const previous = net.syncRequests
      net.syncRequests = () => previous() + requests
      const topic = roomTopic(roomId)
      const pubsub = node.libp2p.services.pubsub
      const validator = pubsub.topicValidators.get(topic)
      if (validator !== undefined) {
        const timed: TopicValidatorFn = async (from, msg) => {
          const t0 = performance.now()
          try {
            return await validator(from, msg)
          } finally {
            net.validateTimes?.push(performance.now() - t0)
          }
        }
        pubsub.topicValidators.set(topic, timed)
      }
    })
    return net
  } catch (err) {
    await stopKeyroomNet(net)
    throw err
  }
}

async function stopKeyroomNet (net: KeyroomNet): Promise<void> {
  for (const node of [...net.nodes].reverse()) await node.stop().catch(() => {})
  for (const dir of net.dirs) await rm(dir, { recursive: true, force: true })
}

interface RawNet {
  nodes: RawNode[]
  topic: string
  arrivals: Arrivals
  closes: { readonly count: number }
  topicRepairs: number
}

/**
 * The baseline: libp2p with the node's transports (TCP, Noise, Yamux) and identify, and gossipsub
 * with the router options the node sets (StrictNoSign, flood publish, the node's mesh degree, no
 * floodsub fallback, the node's outbound buffer cap and loopback IP-colocation whitelist — without
 * it, 20 peers on 127.0.0.1 are graylisted). No DHT, no validator, default message IDs (SHA-256 of the data).
 */
async function startRawNet (count: number): Promise<RawNet> {
  const nodes: RawNode[] = []
  const net: RawNet = { nodes, topic: '/keyroom-bench/raw/1', arrivals: new Arrivals('-', count - 1, count), closes: { count: 0 }, topicRepairs: 0 }
  try {
    for (let i = 0; i < count; i++) {
      nodes.push(await createLibp2p({
        addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        services: {
          identify: identify(),
          pubsub: gossipsub({
            globalSignaturePolicy: StrictNoSign,
            emitSelf: false,
            fallbackToFloodsub: false,
            floodPublish: true,
            ...ROOM_MESH_DEGREE,
            maxOutboundBufferSize: GOSSIP_MAX_OUTBOUND_BUFFER_BYTES,
            scoreParams: { IPColocationFactorWhitelist: new Set(GOSSIP_IP_COLOCATION_WHITELIST) }
          })
        }
      }))
    }
    net.closes = countCloses(nodes)
    nodes.forEach((node, i) => {
      node.services.pubsub.subscribe(net.topic)
      node.services.pubsub.addEventListener('message', e => {
        if (e.detail.topic === net.topic) net.arrivals.arrive(keyOf(decoder.decode(e.detail.data.subarray(0, 24))), i)
      })
    })
    await pacedFullMesh(nodes)
    net.topicRepairs = await ensureTopicMesh(nodes, i => nodes[i]!.services.pubsub.getSubscribers(net.topic).map(p => p.toString()))
    return net
  } catch (err) {
    await stopRawNet(net)
    throw err
  }
}

async function stopRawNet (net: RawNet): Promise<void> {
  for (const node of net.nodes) await Promise.resolve(node.stop()).catch(() => {})
}

function rawPayload (key: string, bytes: number): Uint8Array {
  const payload = new Uint8Array(Math.max(bytes, 64)).fill(0x20)
  payload.set(encoder.encode(`${key}|`))
  return payload
}

// ---------------------------------------------------------------------------------------------
// Load

interface LoadPlan {
  /** Open loop: offer `rate` events/s (event k at k/rate s). */
  rate?: number
  /** Closed loop: keep at most this many events in flight (sent, not yet on every node). */
  window?: number
  seconds: number
  drainMs: number
  arrivals: Arrivals
  /** Sends event `k` (`key` starts its text). */
  send: (k: number, key: string) => Promise<unknown>
  closes: { readonly count: number }
  syncRequests?: () => number
  /** Send latencies are pushed here too (to summarise several runs together). */
  sendTimes?: number[]
}

/** Runs one load phase (see {@link LoadPlan}), then waits for stragglers (bounded), and reports. */
async function load (plan: LoadPlan): Promise<LoadResult> {
  const total = plan.rate === undefined ? Infinity : Math.round(plan.rate * plan.seconds)
  const windowMs = plan.seconds * 1000
  const maxOutstanding = 512
  const closesBefore = plan.closes.count
  const syncBefore = plan.syncRequests?.() ?? 0
  const cpu = process.cpuUsage()
  const stalls = stallMeter()
  const sendTimes: number[] = []
  let issued = 0
  let sent = 0
  let outstanding = 0
  const start = performance.now()
  while (issued < total) {
    const elapsed = performance.now() - start
    if (elapsed >= windowMs) break
    const due = plan.rate === undefined ? Infinity : Math.min(total, Math.floor((elapsed * plan.rate) / 1000) + 1)
    while (issued < due && outstanding < maxOutstanding && (plan.window === undefined || issued - plan.arrivals.completed < plan.window)) {
      const k = issued++
      outstanding++
      const t0 = performance.now()
      void plan.send(k, `${plan.arrivals.prefix}.${k}`).then(() => {
        sent++
        sendTimes.push(performance.now() - t0)
        plan.sendTimes?.push(performance.now() - t0)
      }, () => {}).finally(() => { outstanding-- })
    }
    await sleep(1)
  }
  const windowEnd = start + windowMs
  const deadline = windowEnd + plan.drainMs
  while (performance.now() < deadline && (outstanding > 0 || plan.arrivals.completed < sent)) await sleep(20)
  const complete = plan.arrivals.completed
  const cpuMs = cpuMsSince(cpu)
  const offered = Number.isFinite(total) ? total : issued
  return {
    offered,
    sent,
    unsent: offered - sent,
    complete,
    lost: Math.max(0, sent - complete),
    worstNode: Math.min(...plan.arrivals.perNode),
    perNode: [...plan.arrivals.perNode],
    achievedRate: complete > 0 ? complete / ((plan.arrivals.lastCompleteAt - start) / 1000) : 0,
    lagMs: plan.arrivals.lastCompleteAt - windowEnd,
    activeMs: complete > 0 ? plan.arrivals.lastCompleteAt - start : 0,
    sendLatency: summarize(sendTimes),
    cpuMsPerEvent: cpuMs / Math.max(1, complete),
    cpuMs,
    maxLoopStallMs: stalls.stop(),
    connectionsClosed: plan.closes.count - closesBefore,
    ...(plan.syncRequests === undefined ? {} : { syncRequests: plan.syncRequests() - syncBefore })
  }
}

/** Several runs of one kind as one result (sums, and rates over the runs' active time). */
function combineLoads (runs: readonly LoadResult[], sendTimes: readonly number[]): LoadResult {
  const sum = (f: (r: LoadResult) => number): number => runs.reduce((a, r) => a + f(r), 0)
  const complete = sum(r => r.complete)
  const perNode = runs[0]!.perNode.map((_v, i) => runs.reduce((a, r) => a + (r.perNode[i] ?? 0), 0))
  const syncs = runs.map(r => r.syncRequests).filter((v): v is number => v !== undefined)
  return {
    offered: sum(r => r.offered),
    sent: sum(r => r.sent),
    unsent: sum(r => r.unsent),
    complete,
    lost: sum(r => r.lost),
    worstNode: Math.min(...perNode),
    perNode,
    achievedRate: complete > 0 ? complete / (sum(r => r.activeMs) / 1000) : 0,
    lagMs: Math.max(...runs.map(r => r.lagMs)),
    activeMs: sum(r => r.activeMs),
    sendLatency: summarize(sendTimes),
    cpuMsPerEvent: sum(r => r.cpuMs) / Math.max(1, complete),
    cpuMs: sum(r => r.cpuMs),
    maxLoopStallMs: Math.max(...runs.map(r => r.maxLoopStallMs)),
    connectionsClosed: sum(r => r.connectionsClosed),
    ...(syncs.length === 0 ? {} : { syncRequests: syncs.reduce((a, b) => a + b, 0) })
  }
}

function printLoad (label: string, r: LoadResult): void {
  console.log(`  ${label}`)
  infoLine('    offered / sent / unsent', `${r.offered} / ${r.sent} / ${r.unsent}`)
  infoLine('    on every node / missing at end / worst node', `${r.complete} / ${r.lost} / ${r.worstNode}`)
  const last = r.complete > 0 ? `   (last one ${(r.lagMs / 1000).toFixed(2)} s after the window)` : ''
  infoLine('    events on every node per second', `${r.achievedRate.toFixed(0)}${last}`)
  infoLine('    CPU per event, all nodes / longest loop stall', `${r.complete > 0 ? r.cpuMsPerEvent.toFixed(2) + ' ms' : '-'} / ${r.maxLoopStallMs.toFixed(0)} ms`)
  latencyLine('    send()/publish() resolved after', r.sendLatency)
  infoLine('    connections closed / gap-fill sync requests', `${r.connectionsClosed} / ${r.syncRequests ?? '-'}`)
}

// ---------------------------------------------------------------------------------------------

/** Run the gossip benchmark, print its figures, and return them. */
export async function runGossipBench (options: GossipBenchOptions = {}): Promise<GossipBenchResult> {
  const count = options.nodes ?? 20
  const sampleCount = options.samples ?? 150
  const warmup = 10
  const capacitySeconds = options.capacitySeconds ?? 6
  const rate = options.rate ?? 1000
  const seconds = options.seconds ?? 10
  const senderCount = Math.max(1, Math.min(count, options.senders ?? 4))
  const drainMs = options.drainMs ?? 60_000
  const timeoutMs = 10_000
  console.log(`\n# Room gossip: ${count} nodes on loopback in one process, against raw gossipsub`)

  let keyroom: KeyroomNet | undefined
  let raw: RawNet | undefined
  try {
    const t0 = performance.now()
    keyroom = await startKeyroomNet(count)
    const t1 = performance.now()
    raw = await startRawNet(count)
    const t2 = performance.now()
    infoLine('setup: keyroom (mesh, room, invites, joins) / raw', `${((t1 - t0) / 1000).toFixed(1)} s / ${((t2 - t1) / 1000).toFixed(1)} s`)
    if (keyroom.topicRepairs + raw.topicRepairs > 0) {
      infoLine('  topic repairs (connected, not seen subscribed)', `keyroom ${keyroom.topicRepairs} / raw ${raw.topicRepairs} pairs hung up and re-dialled`)
    }
    const k = keyroom
    const r = raw

    // The size of a keyroom event carrying these bodies: raw payloads get the same size.
    let eventBytes = 0
    const probe = (e: CustomEvent<{ topic: string, data: Uint8Array }>): void => { eventBytes = e.detail.data.byteLength }
    k.nodes[1]!.libp2p.services.pubsub.addEventListener('message', probe)

    // 1. Latency, alternating keyroom and raw samples.
    k.arrivals = new Arrivals('L', count, count)
    r.arrivals = new Arrivals('L', count - 1, count)
    const keyroomMs: number[] = []
    const rawMs: number[] = []
    const sendMs: number[] = []
    const cpu = { raw: 0, keyroom: 0 }
    const lost = { raw: 0, keyroom: 0 }
    const closesBefore = k.closes.count
    const syncBefore = k.syncRequests()
    for (let s = 0; s < warmup + sampleCount; s++) {
      const measured = s >= warmup
      if (s === warmup) k.validateTimes = []
      const sender = s % count
      const key = `L.${s}`

      const wait = k.arrivals.expect(key, timeoutMs)
      const cpuK = process.cpuUsage()
      const start = performance.now()
      await k.nodes[sender]!.send(k.roomId, { msgtype: 'm.text', body: `${key}|${FILLER}` })
      const sentAt = performance.now()
      const done = await wait
      if (measured) cpu.keyroom += cpuMsSince(cpuK)
      if (done === undefined) lost.keyroom++
      else if (measured) {
        keyroomMs.push(done - start)
        sendMs.push(sentAt - start)
      }
      if (s === 0) k.nodes[1]!.libp2p.services.pubsub.removeEventListener('message', probe)

      const rawWait = r.arrivals.expect(key, timeoutMs)
      const payload = rawPayload(key, eventBytes)
      const cpuR = process.cpuUsage()
      const rawStart = performance.now()
      await r.nodes[sender]!.services.pubsub.publish(r.topic, payload)
      const rawDone = await rawWait
      if (measured) cpu.raw += cpuMsSince(cpuR)
      if (rawDone === undefined) lost.raw++
      else if (measured) rawMs.push(rawDone - rawStart)
      await sleep(5)
    }
    const validateMs = k.validateTimes ?? []
    k.validateTimes = undefined
    const result: GossipBenchResult = {
      eventBytes,
      raw: summarize(rawMs),
      keyroom: summarize(keyroomMs),
      ratioP50: summarize(keyroomMs).p50 / summarize(rawMs).p50,
      ratioP99: summarize(keyroomMs).p99 / summarize(rawMs).p99,
      cpuMsPerEvent: { raw: cpu.raw / sampleCount, keyroom: cpu.keyroom / sampleCount },
      keyroomSend: summarize(sendMs),
      keyroomValidate: summarize(validateMs),
      latencyLost: lost
    }
    console.log(`  latency: one event at a time, ${sampleCount} samples per side (after ${warmup} warm-up), ${eventBytes}-byte events`)
    latencyLine('raw gossipsub: publish → all have it', result.raw)
    latencyLine('keyroom: send() → all have it (message event)', result.keyroom)
    latencyLine('  of which send() (build, sign, store)', result.keyroomSend)
    latencyLine('  topic validator (ingest) per received event', result.keyroomValidate)
    infoLine('  CPU per event, all nodes: raw / keyroom', `${result.cpuMsPerEvent.raw.toFixed(2)} ms / ${result.cpuMsPerEvent.keyroom.toFixed(2)} ms`)
    infoLine('  lost (not everywhere within 10 s): raw / keyroom', `${lost.raw} / ${lost.keyroom}`)
    infoLine('  connections closed / gap-fill sync requests', `${k.closes.count - closesBefore} / ${k.syncRequests() - syncBefore}`)
    ratio('keyroom p50 / raw p50', result.ratioP50, '≤ 1.2', result.ratioP50 <= 1.2)
    ratio('keyroom p99 / raw p99', result.ratioP99, '(info)', true)
    ratio('keyroom CPU per event / raw', result.cpuMsPerEvent.keyroom / result.cpuMsPerEvent.raw, '(info)', true)
    collectGarbage()

    const senderAt = (i: number): number => (i % senderCount) * Math.floor(count / senderCount)
    // Raw publishers do not receive their own message: count it for them.
    const rawSend = (arrivals: Arrivals) => async (i: number, key: string): Promise<void> => {
      const sender = senderAt(i)
      arrivals.perNode[sender]!++
      await r.nodes[sender]!.services.pubsub.publish(r.topic, rawPayload(key, eventBytes))
    }
    const keyroomSend = async (i: number, key: string): Promise<void> => {
      await k.nodes[senderAt(i)]!.send(k.roomId, { msgtype: 'm.text', body: `${key}|${FILLER}` })
    }

    // 2. Capacity, closed loop: raw and keyroom alternate in rounds, so both see the same load.
    if (capacitySeconds > 0) {
      const windowEvents = options.capacityWindow ?? 8
      const rounds = 2
      const roundSeconds = capacitySeconds / rounds
      console.log(`  capacity: at most ${windowEvents} events in flight, ${senderCount} senders, ${rounds} rounds of ${roundSeconds} s per side, alternating`)
      const rawRuns: LoadResult[] = []
      const keyroomRuns: LoadResult[] = []
      const rawTimes: number[] = []
      const keyroomTimes: number[] = []
      for (let round = 0; round < rounds; round++) {
        r.arrivals = new Arrivals(`C${round}`, count - 1, count)
        rawRuns.push(await load({
          window: windowEvents, seconds: roundSeconds, drainMs, arrivals: r.arrivals, send: rawSend(r.arrivals), closes: r.closes, sendTimes: rawTimes
        }))
        collectGarbage()
        k.arrivals = new Arrivals(`C${round}`, count, count)
        keyroomRuns.push(await load({
          window: windowEvents, seconds: roundSeconds, drainMs, arrivals: k.arrivals, send: keyroomSend, closes: k.closes, syncRequests: () => k.syncRequests(), sendTimes: keyroomTimes
        }))
        collectGarbage()
      }
      const capRaw = combineLoads(rawRuns, rawTimes)
      const capKeyroom = combineLoads(keyroomRuns, keyroomTimes)
      printLoad('raw gossipsub', capRaw)
      printLoad('keyroom', capKeyroom)
      ratio('keyroom capacity / raw capacity', capKeyroom.achievedRate / capRaw.achievedRate, '(info)', true)
      result.capacity = { raw: capRaw, keyroom: capKeyroom }
      collectGarbage()
    }

    // 3. Sustained load, open loop: raw first (the keyroom run may leave its network backed up).
    if (seconds > 0) {
      console.log(`  sustained: ${rate} events/s for ${seconds} s from ${senderCount} senders, then at most ${(drainMs / 1000).toFixed(0)} s for stragglers`)
      r.arrivals = new Arrivals('S', count - 1, count)
      const susRaw = await load({ rate, seconds, drainMs, arrivals: r.arrivals, send: rawSend(r.arrivals), closes: r.closes })
      printLoad('raw gossipsub', susRaw)
      await stopRawNet(r)
      raw = undefined
      collectGarbage()
      k.arrivals = new Arrivals('S', count, count)
      const susKeyroom = await load({ rate, seconds, drainMs, arrivals: k.arrivals, send: keyroomSend, closes: k.closes, syncRequests: () => k.syncRequests() })
      printLoad('keyroom', susKeyroom)
      const keepsUp = (s: LoadResult): boolean => s.unsent === 0 && s.lost === 0 && s.lagMs <= 1000
      ratio('raw: events on every node per second', susRaw.achievedRate, `≥ ${rate} (info)`, keepsUp(susRaw))
      ratio('keyroom: events on every node per second', susKeyroom.achievedRate, `≥ ${rate}, ≤ 1 s late`, keepsUp(susKeyroom))
      ratio('keyroom: loss (sent, missing on some node)', susKeyroom.lost, '= 0', susKeyroom.lost === 0 && susKeyroom.sent > 0)
      result.sustained = { raw: susRaw, keyroom: susKeyroom }
    }
    return result
  } finally {
    if (raw !== undefined) await stopRawNet(raw)
    if (keyroom !== undefined) await stopKeyroomNet(keyroom)
  }
}

// Standalone (`npx tsx bench/gossip.ts`): run when this file is the entry point, not when imported.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await runGossipBench()
