/**
 * One honest keyroom node as a child process, for the fuzzer's `kill -9` slice:
 * `node --import tsx test/fuzz/node-process.ts <name> <dataDir>`.
 *
 * stdout: one JSON object per line —
 *   - `{ type: 'ready', userId, peerId, recoveryPhrase?, addrs }` once started;
 *   - `{ type: 'result', id, ok: true, value }` or `{ type: 'result', id, ok: false, code?, error }`
 *     per command, written only once the command's promise settled (so an acknowledged send was
 *     durable before the parent heard of it).
 * stdin: one JSON command per line, `{ id, cmd, …args }`: `partition` (a Partition snapshot:
 * installs the rules in libp2p's gater and closes forbidden connections), `connect`, `peers`,
 * `users`, `create-room`, `invite`, `join`, `leave`, `kick`, `ban`, `unban`, `link-device`, `revoke-device`, `set-topic`, `set-power`, `send`, `members`,
 * `messages`, `rooms`, `catch-up`, `stop` (stop and exit). The end of stdin stops the node too.
 */
import { createInterface } from 'node:readline'
import { createNode } from '../../node/index.js'
import { Partition } from './network.js'
import type { PartitionSnapshot } from './network.js'

const [name = 'node', dataDir] = process.argv.slice(2)
if (dataDir === undefined) throw new Error('usage: node-process.ts <name> <dataDir>')

function emit (line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(line) + '\n')
}

const node = await createNode({
  dataDir,
  listen: ['/ip4/127.0.0.1/tcp/0'],
  loggerPrefix: name,
  durableWrites: false,
  pubsub: { heartbeatInterval: 200 }
})
const partition = new Partition()
partition.install(node.libp2p)
const ownJoins = new Map<string, string>()
node.addEventListener('membership', (e) => {
  if (e.detail.userId === node.userId && e.detail.membership === 'join' && e.detail.sender === node.userId) ownJoins.set(e.detail.roomId, e.detail.eventId)
})

let stopping: Promise<void> | undefined
async function stop (): Promise<void> {
  stopping ??= node.stop()
  await stopping
}

type Args = Record<string, unknown>
const str = (args: Args, key: string): string => {
  const value = args[key]
  if (typeof value !== 'string') throw new Error(`${key}: expected a string`)
  return value
}

const commands: Record<string, (args: Args) => Promise<unknown>> = {
  partition: async (args) => {
    partition.restore(args.rules as PartitionSnapshot)
    await partition.enforce(node.libp2p)
    return null
  },
  connect: async (args) => { await node.connect(args.addrs as string[], { signal: AbortSignal.timeout(5_000) }); return null },
  peers: async () => node.libp2p.getPeers().map(p => p.toString()),
  users: async () => node.peers().flatMap(p => (p.userId === undefined ? [] : [p.userId])),
  'create-room': async (args) => await node.createRoom({ name: str(args, 'name') }),
  invite: async (args) => await node.invite(str(args, 'roomId'), str(args, 'userId')),
  join: async (args) => {
    const roomId = str(args, 'roomId')
    ownJoins.delete(roomId)
    await node.join(roomId, { signal: AbortSignal.timeout(20_000) })
    return ownJoins.get(roomId) ?? null
  },
  leave: async (args) => await node.leave(str(args, 'roomId')),
  kick: async (args) => await node.kick(str(args, 'roomId'), str(args, 'userId')),
  ban: async (args) => await node.ban(str(args, 'roomId'), str(args, 'userId')),
  unban: async (args) => await node.unban(str(args, 'roomId'), str(args, 'userId')),
  'link-device': async (args) => (await node.linkDevice(str(args, 'text'))).deviceId,
  'revoke-device': async (args) => (await node.revokeDevice(str(args, 'deviceId'))).rooms,
  'set-topic': async (args) => await node.setTopic(str(args, 'roomId'), str(args, 'topic')),
  'set-power': async (args) => await node.setPowerLevel(str(args, 'roomId'), str(args, 'userId'), Number(args.level)),
  send: async (args) => await node.send(str(args, 'roomId'), { msgtype: 'm.text', body: str(args, 'body') }),
  members: async (args) => await node.members(str(args, 'roomId')),
  messages: async (args) => (await node.messages(str(args, 'roomId'), { limit: 1000 })).map(m => ({ eventId: m.eventId, sender: m.sender, body: String(m.content.body) })),
  rooms: async () => await node.rooms(),
  'catch-up': async (args) => await node.catchUp(str(args, 'roomId'), { signal: AbortSignal.timeout(20_000) }),
  stop: async () => { await stop(); return null }
}

emit({ type: 'ready', userId: node.userId, peerId: node.peerId, addrs: node.multiaddrs(), ...(node.recoveryPhrase === undefined ? {} : { recoveryPhrase: node.recoveryPhrase }) })

createInterface({ input: process.stdin }).on('line', (line) => {
  let request: Args
  try {
    request = JSON.parse(line) as Args
  } catch {
    return
  }
  const { id, cmd } = request
  const run = typeof cmd === 'string' ? commands[cmd] : undefined
  void (async () => {
    try {
      if (run === undefined) throw new Error(`unknown command ${String(cmd)}`)
      const value = await run(request)
      emit({ type: 'result', id, ok: true, value })
      if (cmd === 'stop') process.exit(0)
    } catch (err) {
      const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : undefined
      emit({ type: 'result', id, ok: false, error: err instanceof Error ? err.message : String(err), ...(code === undefined ? {} : { code }) })
    }
  })()
}).on('close', () => {
  void stop().finally(() => process.exit(0))
})
