/**
 * A stand-in for a running node behind the control socket: the methods the daemon calls, backed
 * by plain arrays, with the node's events. Lets the control server, the client and the commands
 * be tested in-process, fast, and on conditions a real network makes hard to reach (offline, a
 * catch-up in progress).
 */
import { ErrorCode, KeyroomError, formatDeviceId, formatRoomId, formatUserId, formatRoomUri } from '../../../protocols/core/index.js'
import type { ControlNode } from '../../../cli/control/handlers.js'
import type { MessageContent, PeerSummary, RoomMember, RoomMessage, RoomSummary, UserDevice, UserLookup } from '../../../node/index.js'

/** A deterministic ID of each kind from a small number. */
export const ids = {
  user: (n: number): string => formatUserId(new Uint8Array(32).fill(n)),
  device: (n: number): string => formatDeviceId(new Uint8Array(32).fill(n)),
  room: (n: number): string => formatRoomId(new Uint8Array(32).fill(n))
}

export class StubNode extends EventTarget {
  readonly userId = ids.user(1)
  readonly deviceId = ids.device(1)
  readonly peerId = '12D3KooWStubPeer'
  peerList: PeerSummary[] = []
  rooms_: RoomSummary[] = []
  members_ = new Map<string, RoomMember[]>()
  messages_ = new Map<string, RoomMessage[]>()
  calls: Array<[string, unknown[]]> = []
  /** Resolves a pending `join` when set (to test hang-ups). */
  joinGate: Promise<void> | undefined
  #n = 0

  multiaddrs (): string[] {
    return [`/ip4/127.0.0.1/tcp/4001/p2p/${this.peerId}`]
  }

  peers (): PeerSummary[] {
    return this.peerList
  }

  async connect (address: string | string[]): Promise<void> {
    this.calls.push(['connect', [address]])
  }

  async createRoom (options: { name?: string, joinRule?: string } = {}): Promise<string> {
    const roomId = ids.room(100 + this.rooms_.length)
    this.calls.push(['createRoom', [options]])
    this.rooms_.push({ roomId, membership: 'join', ...(options.name === undefined ? {} : { name: options.name }) })
    this.members_.set(roomId, [{ userId: this.userId, membership: 'join', verified: true }])
    this.messages_.set(roomId, [])
    return roomId
  }

  async invite (roomId: string, userId: string): Promise<string> {
    this.#known(roomId)
    this.calls.push(['invite', [roomId, userId]])
    return `$invite${++this.#n}`
  }

  async join (roomIdOrUri: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    this.calls.push(['join', [roomIdOrUri]])
    if (this.joinGate !== undefined) {
      await Promise.race([this.joinGate, new Promise((_resolve, reject) => {
        options.signal?.addEventListener('abort', () => { reject(new Error('aborted')) }, { once: true })
      })])
    }
    throw new KeyroomError(ErrorCode.RoomUnreachable, 'no reachable peer shares room', { hint: 'node hint' })
  }

  async leave (roomId: string): Promise<string> {
    this.#known(roomId)
    return '$leave'
  }

  async kick (roomId: string): Promise<string> {
    this.#known(roomId)
    return '$kick'
  }

  async ban (roomId: string): Promise<string> {
    this.#known(roomId)
    return '$ban'
  }

  async unban (roomId: string): Promise<string> {
    this.#known(roomId)
    return '$unban'
  }

  async setName (roomId: string): Promise<string> {
    this.#known(roomId)
    return '$name'
  }

  async setTopic (roomId: string): Promise<string> {
    this.#known(roomId)
    return '$topic'
  }

  /** The last power level set, by room and user. */
  readonly powerLevels = new Map<string, number>()
  async setPowerLevel (roomId: string, userId: string, level: number): Promise<string> {
    this.#known(roomId)
    this.powerLevels.set(`${roomId} ${userId}`, level)
    return '$power'
  }

  async send (roomId: string, content: MessageContent): Promise<string> {
    this.#known(roomId)
    const eventId = `$sent${++this.#n}`
    const message: RoomMessage = { roomId, eventId, sender: this.userId, content, originServerTs: 1_700_000_000_000 + this.#n }
    this.messages_.get(roomId)!.push(message)
    this.emit('message', message)
    return eventId
  }

  async messages (roomId: string, options: { limit?: number } = {}): Promise<RoomMessage[]> {
    this.#known(roomId)
    const all = this.messages_.get(roomId) ?? []
    return all.slice(Math.max(0, all.length - (options.limit ?? 50)))
  }

  async members (roomId: string): Promise<RoomMember[]> {
    this.#known(roomId)
    return this.members_.get(roomId) ?? []
  }

  async lookupUser (userId: string): Promise<UserLookup> {
    return { userId, devices: userId === this.userId ? [{ deviceId: this.deviceId, revoked: false, connected: false }] : [] }
  }

  holdsUserKey = true
  revoked = new Set<string>()

  async devices (): Promise<Array<UserDevice & { current: boolean }>> {
    return [{ deviceId: this.deviceId, revoked: false, connected: false, current: true },
      ...[...this.revoked].map((deviceId) => ({ deviceId, revoked: true, connected: false, current: false }))]
  }

  async linkDevice (text: string): Promise<{ deviceId: string, rooms: number }> {
    if (!this.holdsUserKey) throw new KeyroomError('ERR_NO_USER_KEY', 'this device does not hold the user key', { hint: 'link from the device that does' })
    this.calls.push(['linkDevice', [text]])
    return { deviceId: ids.device(9), rooms: this.rooms_.length }
  }

  async revokeDevice (deviceId: string, options: { reason?: string } = {}): Promise<{ deviceId: string, revokedTs: number, rooms: number }> {
    this.calls.push(['revokeDevice', [deviceId, options]])
    this.revoked.add(deviceId)
    return { deviceId, revokedTs: new Date(2026, 0, 2, 3, 4).getTime(), rooms: this.rooms_.length }
  }

  async rooms (): Promise<RoomSummary[]> {
    return this.rooms_
  }

  roomUri (roomId: string): string {
    return formatRoomUri(roomId, this.multiaddrs())
  }

  async catchUp (roomId: string): Promise<number> {
    this.#known(roomId)
    return 0
  }

  emit (type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail }))
  }

  #known (roomId: string): void {
    if (!this.rooms_.some((r) => r.roomId === roomId)) throw new KeyroomError(ErrorCode.UnknownRoom, `room ${roomId} is not known to this node`)
  }

  asNode (): ControlNode {
    return this as unknown as ControlNode
  }
}
