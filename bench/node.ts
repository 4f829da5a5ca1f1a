/**
 * Node benchmarks (`npm run bench -- node`; one part alone: `npx tsx bench/node.ts send|catchup|rss`),
 * each against a baseline measured in the same run:
 *
 * 1. **Local send** — `send()` (create, sign, decide, persist, publish) on a node whose room has
 *    one other member, that member running in a child process (its ingest does not share this
 *    event loop). p50/p99 of sequential sends, with the node's default durable writes (fsync per
 *    event) and with `durableWrites: false`. Baselines: building and signing an event of the same
 *    shape (core, no I/O), and a LevelDB put of the same size, with and without `sync`, on the
 *    same disk. Target: p50 ≤ 1 ms.
 * 2. **Catch-up** of 10,000 events from one peer: a late joiner (from `join()` to having every
 *    message) and a member that was offline (from `createNode()` on its data dir to having every
 *    message). Baseline: the same 10,000 event bytes streamed over one raw libp2p stream (TCP,
 *    Noise, Yamux) and put through the ingest checks (parse, hash, signature, ID) on arrival.
 *    Target: ≤ 2 s.
 * 3. **Idle RSS** of one started node (default options, no peers) in a child process after it
 *    settles, run as deployed code runs — JavaScript, no loader (the sources are transpiled to a
 *    temporary directory, bench/transpile.ts). Baselines, all children at once: a bare `node -e`,
 *    a bare libp2p node with the node's composition, and the node's modules imported but not
 *    started; the same node under tsx is printed too (the loader alone costs tens of MB). Also
 *    measured: the same node with a young-generation limit on Node's command line (what
 *    docs/api.md "Memory" suggests to embedders), and the CLI daemon (`keyroom init`, then
 *    `keyroom start`, which sets that flag itself). On Linux the RSS is split into the process's
 *    own (anonymous) memory and mapped file pages (mostly the `node` binary, shared).
 *    Target: ≤ 80 MB.
 *
 * Children run with this process's Node (`process.execPath`, Node 24 under npm).
 */
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { Level } from 'level'
import { createLibp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import { STORE_DIR_NAME, createNode } from '../node/index.js'
import {
  KEYROOM_ROOM_VERSION, canonicalJsonBytes, checkEventIntegrity, deviceKeyPair, isDeviceId, parseDeviceId, parseJson, roomKeyPair, signEvent,
  userKeyPair
} from '../protocols/core/index.js'
import { openLevelStore } from '../store/index.js'
import { measure, ratio } from './harness.js'
import { collectGarbage, infoLine, latencyLine, summarize, waitUntil } from './stats.js'
import { transpileTree } from './transpile.js'
import type { CreateNodeOptions, KeyroomNode } from '../node/index.js'
import type { Summary } from './stats.js'
import type { Libp2p, Stream } from '@libp2p/interface'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'

const here = dirname(fileURLToPath(import.meta.url))
const repo = resolve(here, '..')
const CHILD = join(here, 'node-child.ts')
const MB = 1024 * 1024

/** Options of the node benchmarks. */
export interface NodeBenchOptions {
  /** Measured sequential sends per mode (default 1000, after 100 warm-up sends). */
  sends?: number
  /** Events a node catches up on (default 10 000). */
  catchUpEvents?: number
  /** How long the RSS children settle before they report, ms (default 5000). */
  settleMs?: number
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** A child process speaking JSON lines (bench/node-child.ts, or `node -e`). */
class Child {
  readonly #proc: ChildProcessWithoutNullStreams
  readonly #messages: Array<Record<string, unknown>> = []
  readonly #waiters: Array<() => void> = []
  #stderr = ''
  #exited: number | null | undefined

  constructor (args: string[]) {
    this.#proc = spawn(process.execPath, args, { cwd: repo, stdio: ['pipe', 'pipe', 'pipe'] })
    createInterface({ input: this.#proc.stdout }).on('line', line => {
      try {
        this.#messages.push(JSON.parse(line) as Record<string, unknown>)
      } catch {
        return
      }
      for (const wake of this.#waiters.splice(0)) wake()
    })
    this.#proc.stderr.on('data', (d: Buffer) => { this.#stderr = (this.#stderr + d.toString()).slice(-4000) })
    this.#proc.on('exit', code => {
      this.#exited = code
      for (const wake of this.#waiters.splice(0)) wake()
    })
  }

  /** The bench child in `mode` (see bench/node-child.ts). */
  static bench (mode: string, ...args: string[]): Child {
    return new Child(['--import', 'tsx', CHILD, mode, ...args])
  }

  /** The next message of `type` (messages of other types before it are dropped). */
  async next (type: string, timeoutMs: number): Promise<Record<string, unknown>> {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const i = this.#messages.findIndex(m => m.type === type)
      if (i >= 0) return this.#messages.splice(0, i + 1)[i]!
      if (this.#exited !== undefined) throw new Error(`child exited (${String(this.#exited)}) before '${type}'; stderr: ${this.#stderr}`)
      const left = deadline - performance.now()
      if (left <= 0) throw new Error(`child sent no '${type}' within ${timeoutMs} ms; stderr: ${this.#stderr}`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** Close its stdin (bench children stop and exit) and wait for the exit (killed after 10 s). */
  async stop (): Promise<void> {
    if (this.#exited !== undefined) return
    const exited = new Promise<void>(resolve => this.#proc.once('exit', () => { resolve() }))
    this.#proc.stdin.end()
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
}

/** Temporary directories of one benchmark, removed at the end. */
class TempDirs {
  readonly #dirs: string[] = []
  async make (): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'keyroom-bench-node-'))
    this.#dirs.push(dir)
    return dir
  }

  async removeAll (): Promise<void> {
    for (const dir of this.#dirs.splice(0)) await rm(dir, { recursive: true, force: true })
  }
}

/** Start a node on loopback. */
async function startNode (dataDir: string, name: string, options: Partial<CreateNodeOptions> = {}): Promise<KeyroomNode> {
  return await createNode({ dataDir, listen: ['/ip4/127.0.0.1/tcp/0'], loggerPrefix: name, ...options })
}

/** `inviter` invites the user of `joiner` (a connected node) and waits until it has joined. */
async function inviteAndJoin (inviter: KeyroomNode, joiner: KeyroomNode, roomId: string): Promise<void> {
  await waitUntil(() => inviter.peers().some(p => p.userId === joiner.userId), 10_000, 'hello between the two nodes')
  await inviter.invite(roomId, joiner.userId)
  await waitUntil(async () => (await joiner.rooms()).some(r => r.roomId === roomId && r.membership === 'invite'), 10_000, 'the invite to arrive')
  await joiner.join(roomId)
}

/** When a node's catch-up (`sync` events) started, fetched its last batch, and finished. */
function syncTimes (node: KeyroomNode): { started: number, lastFetched: number, done: number, fetched: number } {
  const times = { started: 0, lastFetched: 0, done: 0, fetched: 0 }
  node.addEventListener('sync', e => {
    const now = performance.now()
    if (e.detail.phase === 'started' && times.started === 0) times.started = now
    if (e.detail.phase === 'fetched') { times.lastFetched = now; times.fetched = Math.max(times.fetched, e.detail.fetched) }
    if (e.detail.phase === 'done' && (e.detail.stored ?? 0) > 0) times.done = now
  })
  return times
}

/** Count `message` events of a node. */
function messageCounter (node: KeyroomNode): { count: number, lastAt: number } {
  const counter = { count: 0, lastAt: 0 }
  node.addEventListener('message', () => { counter.count++; counter.lastAt = performance.now() })
  return counter
}

function seed (n: number): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => (i * 31 + n * 7 + 1) & 0xff)
}

const BODY = 'The quick brown fox jumps over the lazy dog. '.repeat(4)

// ---------------------------------------------------------------------------------------------
// 1. Local send

/** What {@link runSendBench} measured, milliseconds. */
export interface SendBenchResult {
  durable: Summary
  nonDurable: Summary
  /** Building and signing one event in the core (no I/O), µs. */
  buildUs: number
  /** LevelDB put of an event-sized value: with fsync, without. */
  putSync: Summary
  putAsync: Summary
}

async function timeSends (node: KeyroomNode, roomId: string, count: number, warmup: number): Promise<Summary> {
  const times: number[] = []
  for (let i = 0; i < warmup + count; i++) {
    const t0 = performance.now()
    await node.send(roomId, { msgtype: 'm.text', body: `${i}|${BODY}` })
    if (i >= warmup) times.push(performance.now() - t0)
  }
  return summarize(times)
}

/** Local send: see the module comment. */
export async function runSendBench (options: NodeBenchOptions = {}): Promise<SendBenchResult> {
  const count = options.sends ?? 1000
  const warmup = 100
  console.log('\n# Node: local send (create, sign, decide, persist, publish), one remote member in a child process')
  const dirs = new TempDirs()
  const nodes: KeyroomNode[] = []
  let peer: Child | undefined
  try {
    peer = Child.bench('peer', await dirs.make())
    const ready = await peer.next('ready', 30_000)
    const peerUser = String(ready.userId)
    const peerAddrs = ready.multiaddrs as string[]

    const results: Summary[] = []
    for (const durable of [true, false]) {
      const node = await startNode(await dirs.make(), durable ? 'send-durable' : 'send-fast', durable ? {} : { durableWrites: false })
      nodes.push(node)
      await node.connect(peerAddrs)
      await waitUntil(() => node.peers().some(p => p.userId === peerUser), 10_000, 'hello with the peer')
      const roomId = await node.createRoom({ name: 'send bench' })
      await node.invite(roomId, peerUser)
      await peer.next('joined', 20_000)
      await waitUntil(() => node.libp2p.services.roomGossip.subscribers(roomId).length > 0, 10_000, 'the peer on the room topic')
      collectGarbage()
      results.push(await timeSends(node, roomId, count, warmup))
    }

    // Baselines: the core's build-and-sign of a message of the same shape, and LevelDB puts.
    const user = userKeyPair(seed(1))
    const device = deviceKeyPair(seed(2))
    const room = roomKeyPair(seed(3))
    let sampleBytes = 0
    const build = measure('build + sign + canonical bytes', (i) => {
      const event = {
        room_id: room.roomId, type: 'm.room.message', sender: user.userId, content: { msgtype: 'm.text', body: `${i}|${BODY}` },
        prev_events: ['$' + 'A'.repeat(43)], auth_events: ['$' + 'C'.repeat(43), '$' + 'D'.repeat(43), '$' + 'E'.repeat(43), '$' + 'F'.repeat(43)],
        depth: 1234 + i, origin_server_ts: 1_790_000_000_000 + i
      }
      sampleBytes = canonicalJsonBytes(signEvent(event, device.deviceId, 'ed25519', device.seed, KEYROOM_ROOM_VERSION)).byteLength
    }, { batch: 50, budgetMs: 1000 })
    const db = new Level<Uint8Array, Uint8Array>(join(await dirs.make(), 'level'), { keyEncoding: 'view', valueEncoding: 'view' })
    const value = new Uint8Array(sampleBytes).fill(0x61)
    const puts = async (sync: boolean, n: number): Promise<Summary> => {
      const times: number[] = []
      for (let i = 0; i < n; i++) {
        const t0 = performance.now()
        await db.put(new TextEncoder().encode(`${sync ? 's' : 'a'}${i}`), value, { sync })
        times.push(performance.now() - t0)
      }
      return summarize(times)
    }
    const putSync = await puts(true, 300)
    const putAsync = await puts(false, 1000)
    await db.close()

    const result: SendBenchResult = { durable: results[0]!, nonDurable: results[1]!, buildUs: build.usPerOp, putSync, putAsync }
    console.log(`  ${count} sequential sends per mode (after ${warmup} warm-up), ≈ ${sampleBytes}-byte events`)
    latencyLine('send(), durable writes (default: fsync per event)', result.durable)
    latencyLine('send(), durableWrites: false', result.nonDurable)
    infoLine('baseline: build + sign (core, no I/O)', `${(result.buildUs / 1000).toFixed(3)} ms per event`)
    latencyLine('baseline: LevelDB put, sync (fsync)', result.putSync)
    latencyLine('baseline: LevelDB put, no sync', result.putAsync)
    const floorDurable = result.buildUs / 1000 + result.putSync.p50
    const floorFast = result.buildUs / 1000 + result.putAsync.p50
    ratio('send p50 / (build + put) p50, durable', result.durable.p50 / floorDurable, '(info)', true)
    ratio('send p50 / (build + put) p50, no fsync', result.nonDurable.p50 / floorFast, '(info)', true)
    ratio('send p50 (ms), durable (default)', result.durable.p50, '≤ 1', result.durable.p50 <= 1)
    ratio('send p50 (ms), durableWrites: false', result.nonDurable.p50, '≤ 1', result.nonDurable.p50 <= 1)
    return result
  } finally {
    for (const node of nodes.reverse()) await node.stop().catch(() => {})
    await peer?.stop()
    await dirs.removeAll()
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Catch-up

/** What {@link runCatchUpBench} measured, milliseconds. */
export interface CatchUpBenchResult {
  events: number
  /** Building the history on the source node (sequential sends), and reopening it. */
  historyMs: number
  reopenMs: number
  /** Late joiner: `join()` resolved, and every message there. */
  joinResolvedMs: number
  lateJoinerMs: number
  /** Late joiner's catch-up: fetching (sync requests and ingest checks), then deciding and storing. */
  joinerFetchMs: number
  joinerStoreMs: number
  /** Offline member: `createNode()` → every message, and connect → every message. */
  restartMs: number
  restartFromConnectMs: number
  /** Baseline: the same events over one raw libp2p stream, checked on arrival. */
  rawStreamMs: number
  /** Baseline part: the ingest checks alone, on this core. */
  checksMs: number
}

/** Send every frame on `stream`, waiting for drain under backpressure. */
async function sendFrames (stream: Stream, frames: readonly Uint8Array[]): Promise<void> {
  for (const frame of frames) {
    const header = new Uint8Array(4)
    new DataView(header.buffer).setUint32(0, frame.byteLength)
    if (!stream.send(header)) await stream.onDrain()
    if (!stream.send(frame)) await stream.onDrain()
  }
  await stream.close()
}

/** Public key of a signer: a UDK's own key (as the node's ingest checks resolve it). */
function publicKeyFor (entity: string, keyId: string): Uint8Array | undefined {
  return keyId === 'ed25519' && isDeviceId(entity) ? parseDeviceId(entity) : undefined
}

function checkEvent (bytes: Uint8Array): void {
  const result = checkEventIntegrity(parseJson(bytes) as object, KEYROOM_ROOM_VERSION, { publicKeyFor })
  if (!result.ok) throw new Error(`event failed its checks: ${result.reason}`)
}

/** The raw baseline: `frames` over one TCP+Noise+Yamux stream between two fresh libp2p nodes, each checked on arrival. */
async function rawStreamBaseline (frames: readonly Uint8Array[]): Promise<number> {
  const protocol = '/keyroom-bench/frames/1'
  const make = async (): Promise<Libp2p> => await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()]
  })
  const source = await make()
  const sink = await make()
  try {
    await source.handle(protocol, async (stream) => { await sendFrames(stream, frames) })
    await sink.dial(source.getMultiaddrs())
    const t0 = performance.now()
    const stream = await sink.dialProtocol(source.getMultiaddrs(), protocol)
    const buffer = new Uint8ArrayList()
    let received = 0
    for await (const chunk of stream) {
      buffer.append(chunk)
      while (buffer.byteLength >= 4) {
        const length = buffer.getUint32(0)
        if (buffer.byteLength < 4 + length) break
        checkEvent(buffer.subarray(4, 4 + length))
        buffer.consume(4 + length)
        received++
      }
    }
    if (received !== frames.length) throw new Error(`raw stream delivered ${received} of ${frames.length} events`)
    return performance.now() - t0
  } finally {
    await sink.stop()
    await source.stop()
  }
}

/** Catch-up: see the module comment. */
export async function runCatchUpBench (options: NodeBenchOptions = {}): Promise<CatchUpBenchResult> {
  const total = options.catchUpEvents ?? 10_000
  const timeoutMs = 120_000
  console.log(`\n# Node: catch-up of ${total.toLocaleString('en')} events from one peer (loopback)`)
  const dirs = new TempDirs()
  const running = new Set<KeyroomNode>()
  const stop = async (node: KeyroomNode): Promise<void> => {
    running.delete(node)
    await node.stop()
  }
  try {
    // The source (no fsync: it only builds the history) and a member that will go offline.
    const sourceDir = await dirs.make()
    const offlineDir = await dirs.make()
    let source = await startNode(sourceDir, 'catchup-source', { durableWrites: false })
    running.add(source)
    let offline = await startNode(offlineDir, 'catchup-offline')
    running.add(offline)
    const roomId = await source.createRoom({ name: 'catch-up bench' })
    await offline.connect(source.multiaddrs())
    await inviteAndJoin(source, offline, roomId)
    await waitUntil(async () => (await source.members(roomId)).some(m => m.userId === offline.userId && m.membership === 'join'), 10_000, 'the join on the source')
    const offlineUser = offline.userId
    await stop(offline)

    // The history, sent while the member is away.
    const t0 = performance.now()
    for (let i = 0; i < total; i++) await source.send(roomId, { msgtype: 'm.text', body: `${i}|${BODY}` })
    const historyMs = performance.now() - t0
    // Reopen the source, so no publish of the history is still queued (nobody was on the topic),
    // and read the events' bytes for the baseline while its database is closed.
    await stop(source)
    const frames: Uint8Array[] = []
    const store = await openLevelStore(join(sourceDir, STORE_DIR_NAME))
    try {
      let after: { depth: number, eventId: string } | undefined
      for (;;) {
        const page = await store.roomEvents(roomId, { limit: 1000, direction: 'forward', ...(after === undefined ? {} : { after }) })
        if (page.length === 0) break
        for (const entry of page) {
          const stored = await store.getEvent(entry.eventId)
          if (stored !== undefined) frames.push(stored.bytes)
        }
        after = page[page.length - 1]
      }
    } finally {
      await store.close()
    }
    const t1 = performance.now()
    source = await startNode(sourceDir, 'catchup-source', { durableWrites: false })
    running.add(source)
    await source.messages(roomId, { limit: 1 })
    const reopenMs = performance.now() - t1
    collectGarbage()

    // A late joiner: invited (untimed), then join() → every message.
    const joiner = await startNode(await dirs.make(), 'catchup-joiner')
    running.add(joiner)
    const joinerMessages = messageCounter(joiner)
    const joinerSync = syncTimes(joiner)
    await joiner.connect(source.multiaddrs())
    await waitUntil(() => source.peers().some(p => p.userId === joiner.userId), 10_000, 'hello with the joiner')
    await source.invite(roomId, joiner.userId)
    await waitUntil(async () => (await joiner.rooms()).some(r => r.roomId === roomId && r.membership === 'invite'), 10_000, 'the invite to arrive')
    const j0 = performance.now()
    await joiner.join(roomId)
    const joinResolvedMs = performance.now() - j0
    await waitUntil(() => joinerMessages.count >= total, timeoutMs, `the joiner to have ${total} messages`, 2)
    const lateJoinerMs = joinerMessages.lastAt - j0
    await stop(joiner)
    collectGarbage()

    // The offline member comes back: createNode() on its data dir, connect → every message.
    const r0 = performance.now()
    offline = await startNode(offlineDir, 'catchup-offline')
    running.add(offline)
    if (offline.userId !== offlineUser) throw new Error('the offline member came back as another user')
    const offlineMessages = messageCounter(offline)
    const r1 = performance.now()
    await offline.connect(source.multiaddrs())
    await waitUntil(() => offlineMessages.count >= total, timeoutMs, `the returning member to have ${total} messages`, 2)
    const restartMs = offlineMessages.lastAt - r0
    const restartFromConnectMs = offlineMessages.lastAt - r1
    for (const node of [...running].reverse()) await stop(node)
    collectGarbage()

    // Baselines.
    const rawStreamMs = await rawStreamBaseline(frames)
    const c0 = performance.now()
    for (const frame of frames) checkEvent(frame)
    const checksMs = performance.now() - c0

    const result: CatchUpBenchResult = {
      events: total,
      historyMs,
      reopenMs,
      joinResolvedMs,
      lateJoinerMs,
      joinerFetchMs: joinerSync.lastFetched - joinerSync.started,
      joinerStoreMs: joinerSync.done - joinerSync.lastFetched,
      restartMs, restartFromConnectMs, rawStreamMs, checksMs
    }
    const ms = (v: number): string => `${v.toFixed(0).padStart(7)} ms`
    infoLine(`history: ${total} sends on the source (no fsync)`, `${ms(historyMs)}   (${(total / historyMs * 1000).toFixed(0)} sends/s)`)
    infoLine('source reopened, room loaded', ms(reopenMs))
    infoLine(`baseline: ${frames.length} events over one raw libp2p stream + checks`, `${ms(rawStreamMs)}   (checks alone ${checksMs.toFixed(0)} ms)`)
    infoLine('late joiner: join() resolved', ms(joinResolvedMs))
    infoLine('late joiner: join() → every message', ms(lateJoinerMs))
    infoLine('  catch-up: fetch + checks / decide + store', `${ms(result.joinerFetchMs).trim()} / ${ms(result.joinerStoreMs).trim()}   (${joinerSync.fetched} events fetched)`)
    infoLine('offline member: createNode() → every message', ms(restartMs))
    infoLine('offline member: connect → every message', ms(restartFromConnectMs))
    ratio('late joiner / raw stream baseline', lateJoinerMs / rawStreamMs, '(info)', true)
    ratio('late joiner: join → all (s)', lateJoinerMs / 1000, '≤ 2', lateJoinerMs <= 2000)
    ratio('offline member: restart → all (s)', restartMs / 1000, '≤ 2', restartMs <= 2000)
    return result
  } finally {
    for (const node of [...running].reverse()) await node.stop().catch(() => {})
    await dirs.removeAll()
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Idle RSS

/** What {@link runRssBench} measured, bytes. */
export interface RssBenchResult {
  bareNode: number
  rawLibp2p: number
  importOnly: number
  idleNode: number
  idleHeapUsed: number
  idleHeapTotal: number
  /** The idle node with the young-generation limit on Node's command line (docs/api.md "Memory"). */
  idleNodeCapped: number
  /** The CLI daemon (`keyroom start`), which sets that flag itself (cli/v8-flags.ts). */
  cliDaemon: number
  idleNodeTsx: number
  /** Linux: anonymous / file-backed parts of the default idle node's and the daemon's RSS. */
  split: { idleNode?: RssSplit, cliDaemon?: RssSplit }
}

/** RSS split (Linux `/proc/<pid>/status`): the process's own memory and mapped file pages. */
export interface RssSplit {
  anon: number
  file: number
}

/** `/proc/<pid>/status` figures (bytes), or `undefined` off Linux. */
async function procStatus (pid: number): Promise<{ rss: number, split: RssSplit } | undefined> {
  let status: string
  try {
    status = await readFile(`/proc/${pid}/status`, 'utf8')
  } catch {
    return undefined
  }
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'mu').exec(status)?.[1] ?? NaN) * 1024
  return { rss: kb('VmRSS'), split: { anon: kb('RssAnon'), file: kb('RssFile') } }
}

/** A process's RSS in bytes: `/proc` on Linux, else `ps` (macOS, BSDs). */
async function rssOfPid (pid: number): Promise<{ rss: number, split?: RssSplit }> {
  const proc = await procStatus(pid)
  if (proc !== undefined) return proc
  const out = await new Promise<string>((resolve, reject) => {
    execFile('ps', ['-o', 'rss=', '-p', String(pid)], (err, stdout) => { if (err === null) resolve(stdout); else reject(err) })
  })
  return { rss: Number(out.trim()) * 1024 }
}

/**
 * The CLI daemon as users run it: `keyroom init`, then `keyroom --json start --no-mdns` from the
 * transpiled sources (no loader), with the V8 flags cli/main.ts sets itself. Only mDNS is off (the
 * CLI's default is on), so the figure does not depend on who else multicasts on the bench host's
 * LAN; mDNS costs no measurable memory when no peer answers. Resolves with its RSS after `settle`.
 */
async function measureCliDaemon (compiled: string, dataDir: string, settle: number): Promise<{ rss: number, split?: RssSplit }> {
  const main = join(compiled, 'cli', 'main.js')
  const env: NodeJS.ProcessEnv = { ...process.env, KEYROOM_HOME: '' }
  for (const name of ['KEYROOM_PASSPHRASE', 'KEYROOM_RECOVERY_PHRASE', 'NODE_OPTIONS']) delete env[name]
  await new Promise<void>((resolve, reject) => {
    const init = execFile(process.execPath, [main, '--data-dir', dataDir, '--json', 'init'], { env, timeout: 60_000 }, err => { if (err === null) resolve(); else reject(err) })
    init.stdin?.end()
  })
  const daemon = spawn(process.execPath, [main, '--data-dir', dataDir, '--json', 'start', '--listen', ...DAEMON_LISTEN, '--no-mdns'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  daemon.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000) })
  const exited = new Promise<void>(resolve => daemon.once('exit', () => { resolve() }))
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`keyroom start printed no ready line within 60 s; stderr: ${stderr}`)) }, 60_000)
      createInterface({ input: daemon.stdout }).on('line', line => {
        if (line.includes('"event":"ready"')) { clearTimeout(timer); resolve() }
      })
      daemon.once('exit', code => { clearTimeout(timer); reject(new Error(`keyroom start exited (${String(code)}); stderr: ${stderr}`)) })
    })
    await new Promise(resolve => setTimeout(resolve, settle))
    if (daemon.pid === undefined) throw new Error('keyroom start has no pid')
    return await rssOfPid(daemon.pid)
  } finally {
    daemon.kill('SIGTERM')
    const timer = setTimeout(() => daemon.kill('SIGKILL'), 15_000)
    await exited
    clearTimeout(timer)
  }
}

/**
 * The young-generation limit docs/api.md ("Memory") suggests to embedders, on Node's command line:
 * the one the CLI daemon runs with (cli/v8-flags.ts `DAEMON_V8_FLAGS`, not imported here so the
 * figure stays the documented flag even if the daemon's choice changes).
 */
const EMBEDDER_V8_FLAGS = ['--max-semi-space-size=4']

/** What the daemon listens on: the CLI's default addresses (`DEFAULT_LISTEN`: TCP and WebSockets, every interface). */
const DAEMON_LISTEN = ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws']

/** Idle RSS: see the module comment. */
export async function runRssBench (options: NodeBenchOptions = {}): Promise<RssBenchResult> {
  const settle = options.settleMs ?? 5000
  console.log(`\n# Node: idle RSS of one started node in a child process (after ${(settle / 1000).toFixed(0)} s)`)
  const dirs = new TempDirs()
  const children: Child[] = []
  try {
    const compiled = await dirs.make()
    const t0 = performance.now()
    const cliFiles = (await readdir(join(repo, 'cli'), { recursive: true })).filter(f => f.endsWith('.ts')).map(f => join('cli', f))
    const files = await transpileTree(repo, compiled, ['bench/node-child.ts', ...cliFiles])
    infoLine('sources transpiled to JavaScript (no loader)', `${files} files in ${(performance.now() - t0).toFixed(0)} ms`)
    const compiledChild = join(compiled, 'bench', 'node-child.js')
    const report = `setTimeout(() => { const m = process.memoryUsage(); console.log(JSON.stringify({ type: 'memory', rss: m.rss, heapUsed: m.heapUsed })); process.stdin.resume(); process.stdin.on('end', () => process.exit(0)) }, ${settle})`
    const bare = new Child(['-e', report])
    const raw = new Child([compiledChild, 'raw-libp2p', String(settle)])
    const imported = new Child([compiledChild, 'import', String(settle)])
    const idle = new Child([compiledChild, 'idle', await dirs.make(), String(settle)])
    const capped = new Child([...EMBEDDER_V8_FLAGS, compiledChild, 'idle', await dirs.make(), String(settle)])
    const idleTsx = Child.bench('idle', await dirs.make(), String(settle))
    children.push(bare, raw, imported, idle, capped, idleTsx)
    const memory = async (child: Child): Promise<Record<string, unknown>> => await child.next('memory', 60_000 + settle)
    const [b, r, i, n, c, x, d] = await Promise.all([
      memory(bare), memory(raw), memory(imported), memory(idle), memory(capped), memory(idleTsx), measureCliDaemon(compiled, await dirs.make(), settle)
    ])
    const split = (m: Record<string, unknown>): RssSplit | undefined =>
      typeof m.rssAnon === 'number' && typeof m.rssFile === 'number' ? { anon: m.rssAnon, file: m.rssFile } : undefined
    const idleSplit = split(n)
    const result: RssBenchResult = {
      bareNode: Number(b.rss),
      rawLibp2p: Number(r.rss),
      importOnly: Number(i.rss),
      idleNode: Number(n.rss),
      idleHeapUsed: Number(n.heapUsed),
      idleHeapTotal: Number(n.heapTotal),
      idleNodeCapped: Number(c.rss),
      cliDaemon: d.rss,
      idleNodeTsx: Number(x.rss),
      split: { ...(idleSplit === undefined ? {} : { idleNode: idleSplit }), ...(d.split === undefined ? {} : { cliDaemon: d.split }) }
    }
    const mb = (v: number): string => `${(v / MB).toFixed(1).padStart(7)} MB`
    const parts = (s: RssSplit | undefined): string => s === undefined ? '' : `   (own ${mb(s.anon).trim()} + mapped files ${mb(s.file).trim()})`
    infoLine('baseline: bare `node -e`', mb(result.bareNode))
    infoLine('baseline: libp2p node, same composition, idle', mb(result.rawLibp2p))
    infoLine('keyroom modules imported, nothing started', mb(result.importOnly))
    infoLine('keyroom node started, idle (defaults, no peers)', `${mb(result.idleNode)}   (JS heap ${mb(result.idleHeapUsed).trim()} used of ${mb(result.idleHeapTotal).trim()})`)
    if (idleSplit !== undefined) infoLine('  of which', parts(idleSplit).trim())
    infoLine(`  the same, node ${EMBEDDER_V8_FLAGS.join(' ')}`, mb(result.idleNodeCapped))
    infoLine('CLI daemon: keyroom start (its own V8 flags, mDNS off)', `${mb(result.cliDaemon)}${parts(d.split)}`)
    infoLine('  the default node under tsx (as tests run it)', mb(result.idleNodeTsx))
    ratio('idle node RSS − libp2p baseline (MB)', (result.idleNode - result.rawLibp2p) / MB, '(info)', true)
    ratio('idle node RSS (MB), library defaults', result.idleNode / MB, '≤ 80', result.idleNode <= 80 * MB)
    ratio('CLI daemon RSS (MB)', result.cliDaemon / MB, '≤ 80', result.cliDaemon <= 80 * MB)
    return result
  } finally {
    for (const child of children) await child.stop()
    await dirs.removeAll()
  }
}

/** The parts of the node benchmark, by name. */
export const NODE_BENCH_PARTS = {
  send: runSendBench,
  catchup: runCatchUpBench,
  rss: runRssBench
} as const

/** The node benchmarks: all parts, or the named ones. */
export async function runNodeBench (options: NodeBenchOptions = {}, parts: ReadonlyArray<keyof typeof NODE_BENCH_PARTS> = ['send', 'catchup', 'rss']): Promise<void> {
  for (const part of parts) await NODE_BENCH_PARTS[part](options)
}

// Standalone (`npx tsx bench/node.ts [send|catchup|rss …]`): run when this file is the entry point.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const named = process.argv.slice(2).filter((a): a is keyof typeof NODE_BENCH_PARTS => Object.hasOwn(NODE_BENCH_PARTS, a))
  await runNodeBench({}, named.length > 0 ? named : undefined)
}
