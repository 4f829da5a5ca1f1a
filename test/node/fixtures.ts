/**
 * Fixtures of the node tests: real nodes on 127.0.0.1 in temporary data directories, stopped one
 * after another (and their directories removed) after each test.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'
import { createNode } from '../../node/index.js'
import { waitFor } from '../helpers/wait-for.js'
import type { CreateNodeOptions, KeyroomNode } from '../../node/index.js'

const running: KeyroomNode[] = []
const dirs: string[] = []

afterEach(async () => {
  for (const node of running.splice(0).reverse()) await node.stop()
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

/** A fresh temporary data directory (removed after the test). */
export async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyroom-node-'))
  dirs.push(dir)
  return dir
}

/** Start a node on loopback (a fresh data dir unless one is given); stopped after the test. */
export async function startNode (name: string, options: Partial<CreateNodeOptions> = {}): Promise<KeyroomNode> {
  const node = await createNode({
    dataDir: options.dataDir ?? await tempDir(),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    loggerPrefix: name,
    durableWrites: false,
    pubsub: { heartbeatInterval: 200 },
    ...options
  })
  running.push(node)
  return node
}

/** Stop a node early (it is then not stopped again after the test). */
export async function stopNode (node: KeyroomNode): Promise<void> {
  const i = running.indexOf(node)
  if (i >= 0) running.splice(i, 1)
  await node.stop()
}

/** Bodies of a node's messages in a room, in its order. */
export async function bodies (node: KeyroomNode, roomId: string): Promise<string[]> {
  return (await node.messages(roomId, { limit: 1000 })).map(m => String(m.content.body))
}

/**
 * `node` connects to `inviter` (unless connected), `inviter` invites its user once they have
 * greeted, `node` joins once the invite is delivered, and the inviter sees the join.
 */
export async function inviteAndJoin (inviter: KeyroomNode, node: KeyroomNode, roomId: string): Promise<void> {
  if (!node.peers().some(p => p.peerId === inviter.peerId)) await node.connect(inviter.multiaddrs())
  await waitFor(() => inviter.peers().some(p => p.userId === node.userId), { message: 'hello' })
  await inviter.invite(roomId, node.userId)
  await waitFor(async () => (await node.rooms()).some(r => r.roomId === roomId && r.membership === 'invite'), { message: 'invite delivered' })
  await node.join(roomId)
  await waitFor(async () => (await inviter.members(roomId)).some(m => m.userId === node.userId && m.membership === 'join'), { message: 'join seen by the inviter' })
}

/** A user's membership in a room as `node` sees it. */
export async function membershipOf (node: KeyroomNode, roomId: string, userId: string): Promise<string | undefined> {
  return (await node.members(roomId)).find(m => m.userId === userId)?.membership
}
