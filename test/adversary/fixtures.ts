/**
 * Fixtures of the adversarial-peer tests: honest nodes on 127.0.0.1 (real `createNode`s, stopped
 * and removed after each test), a room they share, and "mallory" — a node whose wire protocols the
 * tests take over: it gossips raw bytes on the room's topic, opens raw `/keyroom/sync/1.0.0`
 * streams, and answers sync requests with lies.
 */
import { expect } from 'vitest'
import { RoomState, canonicalJsonBytes, parseJson } from '../../node/index.js'
import { roomTopic } from '../../protocols/gossip/index.js'
import { loadIdentity } from '../../store/index.js'
import { waitFor } from '../helpers/wait-for.js'
import { startNode as startTestNode, tempDir } from '../node/fixtures.js'
import type { CreateNodeOptions, IdentifiedEvent, KeyroomNode, RoomContext, RoomEvent, SigningDevice } from '../../node/index.js'
import type { Stream } from '@libp2p/interface'

const dataDirs = new WeakMap<KeyroomNode, string>()

/** Start a node on loopback in a fresh data dir (the node tests' fixture); stopped after the test. */
export async function startNode (name: string, options: Partial<CreateNodeOptions> = {}): Promise<KeyroomNode> {
  const dir = options.dataDir ?? await tempDir()
  const node = await startTestNode(name, { ...options, dataDir: dir })
  dataDirs.set(node, dir)
  return node
}

/** The node's signing device, from its keystore: what an attacker who owns that node can sign with. */
export async function deviceOf (node: KeyroomNode): Promise<SigningDevice> {
  const dir = dataDirs.get(node)
  if (dir === undefined) throw new Error('not a node of these fixtures')
  const identity = await loadIdentity(dir)
  return { userId: identity.userId, deviceSeed: identity.udkSeed, attestation: identity.attestation }
}

/** `inviter` invites `node`'s user; `node` joins. */
export async function inviteAndJoin (inviter: KeyroomNode, node: KeyroomNode, roomId: string): Promise<void> {
  if (!node.peers().some(p => p.peerId === inviter.peerId)) await node.connect(inviter.multiaddrs())
  await waitFor(() => inviter.peers().some(p => p.userId === node.userId), { message: 'hello' })
  await inviter.invite(roomId, node.userId)
  await waitFor(async () => {
    try {
      await node.join(roomId)
      return true
    } catch {
      return false
    }
  }, { timeout: 10_000, interval: 100, message: `${node.userId} joins` })
}

/** Every node lists `count` joined members. */
export async function joinedEverywhere (nodes: readonly KeyroomNode[], roomId: string, count: number): Promise<void> {
  await waitFor(async () => {
    for (const n of nodes) if ((await n.members(roomId)).filter(m => m.membership === 'join').length !== count) return false
    return true
  }, { timeout: 10_000, message: `${count} joined members everywhere` })
}

/** A room of honest nodes a, b, c (a creates it; all connected), plus mallory — a member or not. */
export async function roomWithMallory (malloryJoins: boolean): Promise<{ honest: KeyroomNode[], mallory: KeyroomNode, roomId: string }> {
  const a = await startNode('a')
  const b = await startNode('b')
  const c = await startNode('c')
  const mallory = await startNode('mallory')
  const roomId = await a.createRoom({ name: 'under attack' })
  await inviteAndJoin(a, b, roomId)
  await inviteAndJoin(a, c, roomId)
  await c.connect(b.multiaddrs())
  if (malloryJoins) await inviteAndJoin(a, mallory, roomId)
  for (const n of [a, b, c]) if (!mallory.peers().some(p => p.peerId === n.peerId)) await mallory.connect(n.multiaddrs())
  const honest = [a, b, c]
  await joinedEverywhere(honest, roomId, malloryJoins ? 4 : 3)
  await a.send(roomId, { msgtype: 'm.text', body: 'genuine' })
  await waitFor(async () => {
    for (const n of honest) if (!(await bodies(n, roomId)).includes('genuine')) return false
    return true
  }, { message: 'the first message everywhere' })
  return { honest, mallory, roomId }
}

/** Bodies of a node's messages. */
export async function bodies (node: KeyroomNode, roomId: string): Promise<string[]> {
  return (await node.messages(roomId, { limit: 1000 })).map(m => String(m.content.body))
}

/**
 * Waits until mallory can flood-publish on the room's topic to every honest node (they are
 * subscribers and its outbound gossip streams are open; gossipsub keeps these in
 * `streamsOutbound`, which no public API shows).
 */
export async function readyToGossip (mallory: KeyroomNode, honest: readonly KeyroomNode[], roomId: string): Promise<void> {
  const outbound = (mallory.libp2p.services.pubsub as unknown as { streamsOutbound: Map<string, unknown> }).streamsOutbound
  await waitFor(() => honest.every(n => mallory.libp2p.services.pubsub.getSubscribers(roomTopic(roomId)).some(p => p.equals(n.libp2p.peerId)) &&
    outbound.has(n.libp2p.peerId.toString())), { message: 'mallory sees every honest subscriber' })
}

/** Mallory gossips raw bytes on the room's topic (gossipsub directly: no size or shape checks). Returns the recipients. */
export async function gossipRaw (mallory: KeyroomNode, roomId: string, bytes: Uint8Array): Promise<number> {
  const result = await mallory.libp2p.services.pubsub.publish(roomTopic(roomId), bytes)
  return result.recipients.length
}

/** Every honest node scores mallory below `below` (each rejected something it sent). */
export async function penalisedEverywhere (honest: readonly KeyroomNode[], mallory: KeyroomNode, below = 0): Promise<void> {
  await waitFor(() => honest.every(n => (n.libp2p.services.roomGossip.scoreOf(mallory.libp2p.peerId) ?? 0) < below), { message: 'every honest node penalised mallory' })
}

/** The lowest score any honest node gives mallory. */
export function worstScore (honest: readonly KeyroomNode[], mallory: KeyroomNode): number {
  return Math.min(...honest.map(n => n.libp2p.services.roomGossip.scoreOf(mallory.libp2p.peerId) ?? 0))
}

/** What `reader` learns of `from`'s room by sync: its deepest head and the state after it, as a build context. */
export async function headContext (reader: KeyroomNode, from: KeyroomNode, roomId: string): Promise<{ context: RoomContext, head: IdentifiedEvent, state: RoomState }> {
  const sync = reader.libp2p.services.sync
  const peer = from.libp2p.peerId
  const heads = await sync.heads(peer, roomId)
  const events = (await sync.events(peer, roomId, heads)).map(e => ({ eventId: e.eventId, event: parseJson(e.bytes) as RoomEvent }))
  events.sort((x, y) => x.event.depth - y.event.depth || (x.eventId < y.eventId ? -1 : x.eventId > y.eventId ? 1 : 0))
  const head = events[events.length - 1]!
  const { stateIds } = await sync.stateAt(peer, roomId, head.eventId)
  const state = new RoomState((await sync.events(peer, roomId, stateIds)).map(e => ({ eventId: e.eventId, event: parseJson(e.bytes) as RoomEvent })))
  state.apply(head)
  return { context: { roomId, prevEvents: [head.eventId], depth: head.event.depth + 1, state }, head, state }
}

/**
 * The honest room still works under attack: a send from `sender` returns within `boundMs`, and
 * reaches every other honest node (bounded wait).
 */
export async function stillResponsive (sender: KeyroomNode, honest: readonly KeyroomNode[], roomId: string, boundMs = 2_000): Promise<number> {
  const t0 = Date.now()
  const eventId = await sender.send(roomId, { msgtype: 'm.text', body: `alive ${t0}` })
  const took = Date.now() - t0
  expect(took).toBeLessThan(boundMs)
  await waitFor(async () => {
    for (const n of honest) if (!(await n.messages(roomId, { limit: 1000 })).some(m => m.eventId === eventId)) return false
    return true
  }, { timeout: 5_000, message: 'the honest message everywhere' })
  return took
}

/** Members, memberships and verdicts as one comparable string. */
export async function membersText (node: KeyroomNode, roomId: string): Promise<string> {
  return (await node.members(roomId)).map(m => `${m.userId} ${m.membership} ${String(m.verified)}`).join('\n')
}

/** What one raw stream produced. */
export interface RawOutcome {
  /** Bytes read before the stream ended. */
  bytes: Uint8Array
  /** How it ended: closed by the remote, reset/aborted, or still open at our deadline. */
  end: 'closed' | 'reset' | 'deadline'
  ms: number
}

/**
 * Reads a stream until it ends (or `deadlineMs`), keeping at most `keep` bytes. A stream that was
 * reset reads as `reset` at once (iterating a reset stream need not end by itself).
 */
export async function readAll (stream: Stream, deadlineMs: number, keep = 1 << 20): Promise<RawOutcome> {
  const t0 = Date.now()
  const chunks: Uint8Array[] = []
  let kept = 0
  const finish = (end: RawOutcome['end']): RawOutcome => {
    const bytes = new Uint8Array(kept)
    let at = 0
    for (const c of chunks) { bytes.set(c, at); at += c.byteLength }
    return { bytes, end, ms: Date.now() - t0 }
  }
  if (stream.status === 'reset' || stream.status === 'aborted') return finish('reset')
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<'deadline'>(resolve => { timer = setTimeout(() => { resolve('deadline') }, deadlineMs) })
  const onClose = new Promise<'reset' | undefined>(resolve => {
    stream.addEventListener('close', (evt) => { resolve((evt as Event & { error?: Error }).error === undefined ? undefined : 'reset') }, { once: true })
  })
  const reading = (async (): Promise<RawOutcome['end']> => {
    try {
      for await (const chunk of stream) {
        const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
        if (kept < keep) {
          chunks.push(bytes.subarray(0, keep - kept))
          kept += Math.min(bytes.byteLength, keep - kept)
        }
      }
      return 'closed'
    } catch {
      return 'reset'
    }
  })()
  const end = await Promise.race([reading, deadline, onClose.then(async (r) => r ?? await reading)])
  clearTimeout(timer)
  if (end === 'deadline') stream.abort(new Error('test deadline'))
  return finish(end)
}

/** Makes `node` ingest `event` through its own room-topic validator, as if `from` had gossiped it (nothing is forwarded). */
export async function ingestAt (node: KeyroomNode, from: KeyroomNode, roomId: string, event: RoomEvent): Promise<string> {
  const validator = node.libp2p.services.pubsub.topicValidators.get(roomTopic(roomId))
  if (validator === undefined) throw new Error('the node is not on the room\'s topic')
  return await validator(from.libp2p.peerId, { type: 'unsigned', topic: roomTopic(roomId), data: canonicalJsonBytes(event) })
}
