/**
 * The fuzzer's handle on one honest node, whether it runs in the test's process
 * ({@link InProcessNode}) or as a child process ({@link ProcessNode}, `node-process.ts`): start,
 * stop (or `kill -9`), the API calls the script makes, and the partition rules. The rig sees only
 * {@link FuzzNode}.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { ErrorCode, KeyroomError, createNode } from '../../node/index.js'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import type { KeyroomNode, RoomMember } from '../../node/index.js'
import type { Partition } from './network.js'

/** Who a node is (fixed for its data directory). */
export interface NodeIdentity {
  userId: string
  peerId: string
  recoveryPhrase: string
}

/** A message as the final check compares it. */
export interface ListedMessage {
  eventId: string
  sender: string
  body: string
}

/** One honest node under the fuzzer. */
export interface FuzzNode {
  readonly index: number
  readonly name: string
  readonly dataDir: string
  /** Set once the node has started the first time. */
  readonly identity: NodeIdentity
  readonly running: boolean
  start(): Promise<void>
  /** Graceful stop (the database is released). */
  stop(): Promise<void>
  /** `kill -9` for a node process; a graceful stop for an in-process node. */
  kill(): Promise<void>
  multiaddrs(): string[]
  /** Applies the partition's current rules: gater in place, forbidden connections closed. */
  applyPartition(): Promise<void>
  connect(addrs: string[]): Promise<void>
  /** PeerIds this node has a connection to. */
  connectedPeers(): Promise<string[]>
  /** Users the node has met by hello among its connected peers. */
  knownUsers(): Promise<string[]>
  createRoom(name: string): Promise<string>
  invite(roomId: string, userId: string): Promise<string>
  /** Joins; returns the join's event ID when the node reported it. */
  join(roomId: string): Promise<string | undefined>
  leave(roomId: string): Promise<string>
  kick(roomId: string, userId: string): Promise<string>
  ban(roomId: string, userId: string): Promise<string>
  unban(roomId: string, userId: string): Promise<string>
  setTopic(roomId: string, topic: string): Promise<string>
  setPowerLevel(roomId: string, userId: string, level: number): Promise<string>
  send(roomId: string, body: string): Promise<string>
  members(roomId: string): Promise<RoomMember[]>
  messages(roomId: string): Promise<ListedMessage[]>
  /** Rooms with the local membership. */
  rooms(): Promise<Array<{ roomId: string, membership?: string }>>
  catchUp(roomId: string): Promise<number>
  /** Links a new device of the node's user from the text the new device shows; its device ID. */
  linkDevice(text: string): Promise<string>
  /** Revokes a device of the node's user; the number of rooms the revocation was recorded in. */
  revokeDevice(deviceId: string): Promise<number>
}

/** A node in this process. */
export class InProcessNode implements FuzzNode {
  #node: KeyroomNode | undefined
  #identity: NodeIdentity | undefined
  /** The event ID of this node's last own join, per room (from its `membership` events). */
  readonly #ownJoins = new Map<string, string>()

  constructor (readonly index: number, readonly name: string, readonly dataDir: string, readonly partition: Partition) {}

  get identity (): NodeIdentity {
    if (this.#identity === undefined) throw new Error(`${this.name} never started`)
    return this.#identity
  }

  get running (): boolean {
    return this.#node !== undefined
  }

  get api (): KeyroomNode {
    if (this.#node === undefined) throw new Error(`${this.name} is down`)
    return this.#node
  }

  async start (): Promise<void> {
    if (this.#node !== undefined) return
    const node = await createNode({
      dataDir: this.dataDir,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      loggerPrefix: this.name,
      durableWrites: false,
      pubsub: { heartbeatInterval: 200 }
    })
    this.#identity ??= { userId: node.userId, peerId: node.peerId, recoveryPhrase: node.recoveryPhrase ?? '' }
    if (node.peerId !== this.#identity.peerId) throw new Error(`${this.name} came back as another device`)
    this.partition.register(node.peerId, { kind: 'node', index: this.index })
    this.partition.install(node.libp2p)
    node.addEventListener('membership', (e) => {
      if (e.detail.userId === node.userId && e.detail.membership === 'join' && e.detail.sender === node.userId) this.#ownJoins.set(e.detail.roomId, e.detail.eventId)
    })
    this.#node = node
  }

  async stop (): Promise<void> {
    const node = this.#node
    this.#node = undefined
    await node?.stop()
  }

  async kill (): Promise<void> {
    await this.stop()
  }

  multiaddrs (): string[] {
    return this.api.multiaddrs()
  }

  async applyPartition (): Promise<void> {
    if (this.#node !== undefined) await this.partition.enforce(this.#node.libp2p)
  }

  async connect (addrs: string[]): Promise<void> {
    await this.api.connect(addrs, { signal: AbortSignal.timeout(5_000) })
  }

  async connectedPeers (): Promise<string[]> {
    return this.api.libp2p.getPeers().map(p => p.toString())
  }

  async knownUsers (): Promise<string[]> {
    return this.api.peers().flatMap(p => (p.userId === undefined ? [] : [p.userId]))
  }

  async createRoom (name: string): Promise<string> {
    return await this.api.createRoom({ name })
  }

  async invite (roomId: string, userId: string): Promise<string> {
    return await this.api.invite(roomId, userId)
  }

  async join (roomId: string): Promise<string | undefined> {
    this.#ownJoins.delete(roomId)
    await this.api.join(roomId, { signal: AbortSignal.timeout(20_000) })
    return this.#ownJoins.get(roomId)
  }

  async leave (roomId: string): Promise<string> {
    return await this.api.leave(roomId)
  }

  async kick (roomId: string, userId: string): Promise<string> {
    return await this.api.kick(roomId, userId)
  }

  async ban (roomId: string, userId: string): Promise<string> {
    return await this.api.ban(roomId, userId)
  }

  async unban (roomId: string, userId: string): Promise<string> {
    return await this.api.unban(roomId, userId)
  }

  async setTopic (roomId: string, topic: string): Promise<string> {
    return await this.api.setTopic(roomId, topic)
  }

  async setPowerLevel (roomId: string, userId: string, level: number): Promise<string> {
    return await this.api.setPowerLevel(roomId, userId, level)
  }

  async send (roomId: string, body: string): Promise<string> {
    return await this.api.send(roomId, { msgtype: 'm.text', body })
  }

  async members (roomId: string): Promise<RoomMember[]> {
    return await this.api.members(roomId)
  }

  async messages (roomId: string): Promise<ListedMessage[]> {
    return (await this.api.messages(roomId, { limit: 1000 })).map(m => ({ eventId: m.eventId, sender: m.sender, body: String(m.content.body) }))
  }

  async rooms (): Promise<Array<{ roomId: string, membership?: string }>> {
    return await this.api.rooms()
  }

  async catchUp (roomId: string): Promise<number> {
    return await this.api.catchUp(roomId, { signal: AbortSignal.timeout(20_000) })
  }

  async linkDevice (text: string): Promise<string> {
    return (await this.api.linkDevice(text)).deviceId
  }

  async revokeDevice (deviceId: string): Promise<number> {
    return (await this.api.revokeDevice(deviceId)).rooms
  }
}

/** The child script of {@link ProcessNode}. */
export const NODE_PROCESS_SCRIPT = fileURLToPath(new URL('./node-process.ts', import.meta.url))
const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

interface ProcessLine { type: string, [field: string]: unknown }

/** A node in a child process (`node-process.ts`); `kill()` is a real `kill -9`. */
export class ProcessNode implements FuzzNode {
  #child: ChildProcessWithoutNullStreams | undefined
  #identity: NodeIdentity | undefined
  #addrs: string[] = []
  #nextId = 1
  readonly #pending = new Map<number, { resolve: (value: unknown) => void, reject: (err: Error) => void }>()
  /** Last lines of the child's stderr, for failure messages. */
  stderr = ''

  constructor (readonly index: number, readonly name: string, readonly dataDir: string, readonly partition: Partition) {}

  get identity (): NodeIdentity {
    if (this.#identity === undefined) throw new Error(`${this.name} never started`)
    return this.#identity
  }

  get running (): boolean {
    return this.#child !== undefined
  }

  async start (): Promise<void> {
    if (this.#child !== undefined) return
    const child = spawn(process.execPath, ['--import', 'tsx', NODE_PROCESS_SCRIPT, this.name, this.dataDir], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] })
    this.#child = child
    child.stderr.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4_000) })
    const ready = new Promise<ProcessLine>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${this.name} did not start within 20 s: ${this.stderr}`)) }, 20_000)
      createInterface({ input: child.stdout }).on('line', (text) => {
        let line: ProcessLine
        try {
          line = JSON.parse(text) as ProcessLine
        } catch {
          return
        }
        if (line.type === 'ready') {
          clearTimeout(timer)
          resolve(line)
        } else if (line.type === 'result' && typeof line.id === 'number') {
          const pending = this.#pending.get(line.id)
          this.#pending.delete(line.id)
          if (line.ok === true) pending?.resolve(line.value)
          else {
            const code = typeof line.code === 'string' ? line.code : undefined
            pending?.reject(code?.startsWith('ERR_') === true ? new KeyroomError(code, String(line.error)) : new Error(String(line.error)))
          }
        }
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`${this.name} exited (${String(code ?? signal)}) before it was ready: ${this.stderr}`))
      })
    })
    child.once('exit', () => {
      if (this.#child === child) this.#child = undefined
      for (const pending of this.#pending.values()) pending.reject(new KeyroomError(ErrorCode.NotStarted, `${this.name} exited`))
      this.#pending.clear()
    })
    const line = await ready
    const identity = { userId: String(line.userId), peerId: String(line.peerId), recoveryPhrase: typeof line.recoveryPhrase === 'string' ? line.recoveryPhrase : this.#identity?.recoveryPhrase ?? '' }
    if (this.#identity !== undefined && this.#identity.peerId !== identity.peerId) throw new Error(`${this.name} came back as another device`)
    this.#identity ??= identity
    this.#addrs = line.addrs as string[]
    this.partition.register(identity.peerId, { kind: 'node', index: this.index })
    await this.applyPartition()
  }

  async #call (cmd: string, args: Record<string, unknown> = {}, timeout = 30_000): Promise<unknown> {
    const child = this.#child
    if (child === undefined) throw new KeyroomError(ErrorCode.NotStarted, `${this.name} is down`)
    const id = this.#nextId++
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`${this.name}: ${cmd} not answered within ${timeout} ms`))
      }, timeout)
      this.#pending.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v) },
        reject: (e) => { clearTimeout(timer); reject(e) }
      })
    })
    child.stdin.write(JSON.stringify({ id, cmd, ...args }) + '\n')
    return await answer
  }

  async #exited (child: ChildProcessWithoutNullStreams): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>(resolve => child.once('exit', () => { resolve() }))
  }

  async stop (): Promise<void> {
    const child = this.#child
    if (child === undefined) return
    await this.#call('stop', {}, 15_000).catch(() => { child.kill('SIGKILL') })
    await this.#exited(child)
  }

  async kill (): Promise<void> {
    const child = this.#child
    if (child === undefined) return
    child.kill('SIGKILL')
    await this.#exited(child)
  }

  multiaddrs (): string[] {
    return [...this.#addrs]
  }

  async applyPartition (): Promise<void> {
    if (this.#child !== undefined) await this.#call('partition', { rules: this.partition.snapshot() })
  }

  async connect (addrs: string[]): Promise<void> {
    await this.#call('connect', { addrs })
  }

  async connectedPeers (): Promise<string[]> {
    return await this.#call('peers') as string[]
  }

  async knownUsers (): Promise<string[]> {
    return await this.#call('users') as string[]
  }

  async createRoom (name: string): Promise<string> {
    return await this.#call('create-room', { name }) as string
  }

  async invite (roomId: string, userId: string): Promise<string> {
    return await this.#call('invite', { roomId, userId }) as string
  }

  async join (roomId: string): Promise<string | undefined> {
    return (await this.#call('join', { roomId }) as string | null) ?? undefined
  }

  async leave (roomId: string): Promise<string> {
    return await this.#call('leave', { roomId }) as string
  }

  async kick (roomId: string, userId: string): Promise<string> {
    return await this.#call('kick', { roomId, userId }) as string
  }

  async ban (roomId: string, userId: string): Promise<string> {
    return await this.#call('ban', { roomId, userId }) as string
  }

  async unban (roomId: string, userId: string): Promise<string> {
    return await this.#call('unban', { roomId, userId }) as string
  }

  async setTopic (roomId: string, topic: string): Promise<string> {
    return await this.#call('set-topic', { roomId, topic }) as string
  }

  async setPowerLevel (roomId: string, userId: string, level: number): Promise<string> {
    return await this.#call('set-power', { roomId, userId, level }) as string
  }

  async send (roomId: string, body: string): Promise<string> {
    return await this.#call('send', { roomId, body }) as string
  }

  async members (roomId: string): Promise<RoomMember[]> {
    return await this.#call('members', { roomId }) as RoomMember[]
  }

  async messages (roomId: string): Promise<ListedMessage[]> {
    return await this.#call('messages', { roomId }) as ListedMessage[]
  }

  async rooms (): Promise<Array<{ roomId: string, membership?: string }>> {
    return await this.#call('rooms') as Array<{ roomId: string, membership?: string }>
  }

  async catchUp (roomId: string): Promise<number> {
    return await this.#call('catch-up', { roomId }) as number
  }

  async linkDevice (text: string): Promise<string> {
    return await this.#call('link-device', { text }) as string
  }

  async revokeDevice (deviceId: string): Promise<number> {
    return await this.#call('revoke-device', { deviceId }) as number
  }
}
