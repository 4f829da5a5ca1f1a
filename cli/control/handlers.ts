/**
 * What the daemon does for each control method: read the params (validated here, at the edge, all
 * of them before the node is asked anything), call the node, shape a JSON result. `subscribe` lives in server.ts, next to the connections.
 */
import {
  ErrorCode, KeyroomError, formatUserUri, parseDeviceId, parseKeyroomUri, parseRoomId, parseUserId
} from '../../protocols/core/index.js'
import { CONTROL_PROTOCOL_VERSION } from './protocol.js'
import type { ControlMethod } from './protocol.js'
import type { SyncTracker } from './sync-tracker.js'
import type { KeyroomNode } from '../../node/index.js'

/** The part of a node the control socket drives (a test can hand in a stub). */
export type ControlNode = Pick<KeyroomNode,
  'userId' | 'deviceId' | 'peerId' | 'multiaddrs' | 'connect' | 'peers' | 'createRoom' | 'invite' | 'join' | 'leave' | 'kick' | 'ban' | 'unban' | 'setName' | 'setTopic' | 'setPowerLevel' |
  'send' | 'messages' | 'members' | 'lookupUser' | 'rooms' | 'roomUri' | 'catchUp' | 'addEventListener' | 'removeEventListener' |
  'holdsUserKey' | 'devices' | 'linkDevice' | 'revokeDevice'>

/** Facts about the daemon that `hello` and `status` report. */
export interface DaemonInfo {
  dataDir: string
  socket: string
  pid: number
  version: string
  /** When the node became ready, ms since the epoch. */
  startedAt: number
  now: () => number
}

/** What a handler gets besides its params. */
export interface CallContext {
  /** Aborted when the client hangs up (long calls — join, connect, lookups — give up then). */
  signal: AbortSignal
}

/** One method's implementation. */
export type Handler = (params: Record<string, unknown>, call: CallContext) => Promise<unknown>

/** Every method but `subscribe`. */
export type HandledMethod = Exclude<ControlMethod, 'subscribe'>

/** Dependencies of {@link controlHandlers}. */
export interface HandlerDeps {
  node: ControlNode
  info: DaemonInfo
  sync: SyncTracker
  /** Stops the node (and the daemon); resolves once the node has stopped. */
  stop: () => Promise<void>
}

/** Longest string param accepted (a room name, a reason); bodies are bounded by the request size. */
const MAX_PARAM_CHARS = 4096
/** Largest `limit` of `history` (the node's own maximum). */
const MAX_HISTORY_LIMIT = 1000

/** The handlers of every method but `subscribe`. */
export function controlHandlers ({ node, info, sync, stop }: HandlerDeps): Record<HandledMethod, Handler> {
  /** kick, ban, unban: `{room, user, reason?}` → `{roomId, userId, eventId}`. */
  const moderate = async (params: Record<string, unknown>, act: (roomId: string, userId: string, reason: string | undefined) => Promise<string>): Promise<{ roomId: string, userId: string, eventId: string }> => {
    const userId = userParam(params, 'user')
    const reason = optString(params, 'reason')
    const roomId = await resolveRoom(node, reqString(params, 'room'))
    return { roomId, userId, eventId: await act(roomId, userId, reason) }
  }
  return {
    hello: async () => ({
      protocol: CONTROL_PROTOCOL_VERSION,
      version: info.version,
      userId: node.userId,
      deviceId: node.deviceId,
      dataDir: info.dataDir,
      pid: info.pid
    }),

    status: async () => {
      const rooms = []
      for (const room of await node.rooms()) {
        let joined: number | undefined
        if (room.membership === 'join') {
          joined = (await node.members(room.roomId).catch(() => [])).filter((m) => m.membership === 'join').length
        }
        rooms.push({ ...room, ...(joined === undefined ? {} : { joinedMembers: joined }) })
      }
      return {
        protocol: CONTROL_PROTOCOL_VERSION,
        version: info.version,
        pid: info.pid,
        dataDir: info.dataDir,
        socket: info.socket,
        startedAt: info.startedAt,
        uptimeMs: Math.max(0, info.now() - info.startedAt),
        userId: node.userId,
        deviceId: node.deviceId,
        peerId: node.peerId,
        multiaddrs: node.multiaddrs(),
        peers: node.peers(),
        rooms,
        sync: sync.snapshot()
      }
    },

    stop: async () => {
      await stop()
      return { stopped: true }
    },

    connect: async (params, call) => {
      const addresses = stringList(params, 'addresses')
      await node.connect(addresses, { signal: call.signal })
      return { connected: addresses, peers: node.peers() }
    },

    'room.create': async (params) => {
      const name = optString(params, 'name')
      const topic = optString(params, 'topic')
      const isPublic = optBool(params, 'public') === true
      const roomId = await node.createRoom({
        joinRule: isPublic ? 'public' : 'invite',
        ...(name === undefined ? {} : { name }),
        ...(topic === undefined ? {} : { topic })
      })
      return { roomId, ...(name === undefined ? {} : { name }), joinRule: isPublic ? 'public' : 'invite', uri: node.roomUri(roomId) }
    },

    'room.invite': async (params) => {
      const userId = userParam(params, 'user')
      const roomId = await resolveRoom(node, reqString(params, 'room'))
      const eventId = await node.invite(roomId, userId)
      const online = node.peers().some((p) => p.userId === userId)
      return { roomId, userId, eventId, delivered: online }
    },

    'room.join': async (params, call) => {
      const ref = reqString(params, 'room')
      // A link goes to the node whole: its via addresses say where the room can be fetched.
      const wanted = await resolveRoom(node, ref, { mayBeUnknown: true })
      const target = /^keyroom:/iu.test(ref) ? ref : wanted
      let roomId: string
      try {
        roomId = await node.join(target, { signal: call.signal })
      } catch (err) {
        // A member's node answers "not found" to a device that may not read the room (so as not to
        // tell outsiders what it holds): from here, "not invited" and "nobody online has it" look
        // the same, and the message says both.
        if (err instanceof KeyroomError && err.code === ErrorCode.RoomUnreachable) {
          throw new KeyroomError(ErrorCode.RoomUnreachable, `cannot join ${wanted}: no peer reached would share it with you (${node.peers().length} connected)`, {
            hint: `if the room is invite-only, ask a member to invite you (your user ID: ${node.userId}); otherwise use a link whose via addresses are online`,
            cause: err
          })
        }
        throw err
      }
      const room = (await node.rooms()).find((r) => r.roomId === roomId)
      return { roomId, ...(room?.name === undefined ? {} : { name: room.name }) }
    },

    'room.leave': async (params) => {
      const reason = optString(params, 'reason')
      const roomId = await resolveRoom(node, reqString(params, 'room'))
      return { roomId, eventId: await node.leave(roomId, reason) }
    },

    'room.kick': async (params) => await moderate(params, async (roomId, userId, reason) => await node.kick(roomId, userId, reason)),
    'room.ban': async (params) => await moderate(params, async (roomId, userId, reason) => await node.ban(roomId, userId, reason)),
    'room.unban': async (params) => await moderate(params, async (roomId, userId, reason) => await node.unban(roomId, userId, reason)),

    'room.name': async (params) => {
      const name = reqString(params, 'name')
      const roomId = await resolveRoom(node, reqString(params, 'room'))
      return { roomId, name, eventId: await node.setName(roomId, name) }
    },

    'room.topic': async (params) => {
      const topic = reqString(params, 'topic')
      const roomId = await resolveRoom(node, reqString(params, 'room'))
      return { roomId, topic, eventId: await node.setTopic(roomId, topic) }
    },

    'room.power': async (params) => {
      const userId = userParam(params, 'user')
      const level = optInt(params, 'level', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
      if (level === undefined) throw bad('level', 'an integer', undefined)
      const roomId = await resolveRoom(node, reqString(params, 'room'))
      return { roomId, userId, level, eventId: await node.setPowerLevel(roomId, userId, level) }
    },

    'room.members': async (params) => {
      const roomId = await resolveRoom(node, reqString(params, 'room'))
      return { roomId, userId: node.userId, members: await node.members(roomId) }
    },

    'room.list': async () => ({ userId: node.userId, rooms: await node.rooms() }),

    'room.link': async (params) => {
      const roomId = await resolveRoom(node, reqString(params, 'room'))
      return { roomId, uri: node.roomUri(roomId) }
    },

    'room.sync': async (params, call) => {
      const roomId = await resolveRoom(node, reqString(params, 'room'))
      if (node.peers().length === 0) return { roomId, stored: 0, peers: 0 }
      const stored = await node.catchUp(roomId, { signal: call.signal })
      return { roomId, stored, peers: node.peers().length }
    },

    send: async (params) => {
      const body = reqString(params, 'body', Infinity)
      const msgtype = optString(params, 'msgtype') ?? 'm.text'
      const roomId = await resolveRoom(node, reqString(params, 'room'))
      return { roomId, eventId: await node.send(roomId, { msgtype, body }) }
    },

    history: async (params) => {
      const limit = optInt(params, 'limit', 1, MAX_HISTORY_LIMIT)
      const before = optString(params, 'before')
      const roomId = await resolveRoom(node, reqString(params, 'room'))
      const messages = await node.messages(roomId, {
        ...(limit === undefined ? {} : { limit }),
        ...(before === undefined ? {} : { before })
      })
      return { roomId, userId: node.userId, messages }
    },

    whois: async (params, call) => {
      const userId = userParam(params, 'user')
      const found = await node.lookupUser(userId, { signal: call.signal })
      return { ...found, uri: formatUserUri(userId), self: userId === node.userId }
    },

    'device.list': async (_params, call) => ({
      userId: node.userId,
      holdsUserKey: node.holdsUserKey,
      devices: await node.devices({ signal: call.signal })
    }),

    'device.link': async (params, call) => {
      const link = reqString(params, 'link')
      return await node.linkDevice(link, { signal: call.signal })
    },

    'device.revoke': async (params) => {
      const deviceId = reqString(params, 'device')
      const reason = optString(params, 'reason')
      parseDeviceId(deviceId)
      return await node.revokeDevice(deviceId, reason === undefined ? {} : { reason })
    }
  }
}

/**
 * A room reference to a room ID: a `keyroom:r/…` link, a room ID, or the name of exactly one room
 * this node holds. With `mayBeUnknown`, a room ID the node does not hold is fine (a join).
 */
export async function resolveRoom (node: Pick<ControlNode, 'rooms'>, ref: string, options: { mayBeUnknown?: boolean } = {}): Promise<string> {
  if (/^keyroom:/iu.test(ref)) {
    const uri = parseKeyroomUri(ref)
    if (uri.kind !== 'room') throw new KeyroomError(ErrorCode.InvalidKey, `${ref} is a user link, not a room link`)
    return uri.roomId
  }
  if (ref.startsWith('!')) {
    parseRoomId(ref)
    if (options.mayBeUnknown !== true && !(await node.rooms()).some((r) => r.roomId === ref)) {
      throw new KeyroomError(ErrorCode.UnknownRoom, `room ${ref} is not known to this node`, {
        hint: "list your rooms with 'keyroom room list'; join a room with 'keyroom room join LINK'"
      })
    }
    return ref
  }
  const named = (await node.rooms()).filter((r) => r.name === ref)
  if (named.length === 1) return named[0]!.roomId
  if (named.length === 0) {
    throw new KeyroomError(ErrorCode.UnknownRoom, `no room named ${JSON.stringify(ref)} on this node`, {
      hint: "list your rooms with 'keyroom room list'; a room ID starts with '!'"
    })
  }
  throw new KeyroomError(ErrorCode.UnknownRoom, `${named.length} rooms are named ${JSON.stringify(ref)}`, {
    hint: "use the room ID instead ('keyroom room list' shows them)"
  })
}

// ---------------------------------------------------------------------------------------------
// Params: "expected X, got Y"

function bad (name: string, expected: string, value: unknown): KeyroomError {
  const got = value === undefined ? 'nothing' : value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`
  return new KeyroomError(ErrorCode.ControlBadRequest, `expected params.${name} to be ${expected}, got ${got}`, { hint: 'see docs/cli.md for the control protocol' })
}

function reqString (params: Record<string, unknown>, name: string, max = MAX_PARAM_CHARS): string {
  const value = params[name]
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw bad(name, `a non-empty string${Number.isFinite(max) ? ` of at most ${max} characters` : ''}`, value)
  return value
}

function optString (params: Record<string, unknown>, name: string): string | undefined {
  return params[name] === undefined ? undefined : reqString(params, name)
}

function optBool (params: Record<string, unknown>, name: string): boolean | undefined {
  const value = params[name]
  if (value === undefined || typeof value === 'boolean') return value
  throw bad(name, 'a boolean', value)
}

function optInt (params: Record<string, unknown>, name: string, min: number, max: number): number | undefined {
  const value = params[name]
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) throw bad(name, `an integer from ${min} to ${max}`, value)
  return value
}

function stringList (params: Record<string, unknown>, name: string): string[] {
  const value = params[name]
  if (!Array.isArray(value) || value.length === 0 || value.length > 64 || !value.every((v) => typeof v === 'string' && v.length > 0 && v.length <= MAX_PARAM_CHARS)) {
    throw bad(name, 'a list of 1 to 64 non-empty strings', value)
  }
  return value as string[]
}

function userParam (params: Record<string, unknown>, name: string): string {
  const ref = reqString(params, name)
  if (/^keyroom:/iu.test(ref)) {
    const uri = parseKeyroomUri(ref)
    if (uri.kind !== 'user') throw new KeyroomError(ErrorCode.InvalidKey, `${ref} is a room link, not a user link`)
    return uri.userId
  }
  parseUserId(ref)
  return ref
}
