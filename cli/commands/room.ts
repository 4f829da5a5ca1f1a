/**
 * `keyroom room …`: create, invite, join, leave, kick, ban, unban, name, topic, power, members, list,
 * link, history — each a
 * request to the running node. ROOM is a room ID (`!…`), a `keyroom:r/…` link, or the name of a
 * room the node holds; USER is a user ID (`~…`) or a `keyroom:u/…` link.
 */
import type { Command } from 'commander'
import type { CliContext } from '../context.js'
import { usageError } from '../errors.js'
import { pad, safeLine } from '../format.js'
import { callNode, output } from '../node-call.js'
import { checkRoomRef, checkUserRef } from '../refs.js'
import { historyAction, historyOptions } from './messages.js'
import type { RoomMember, RoomSummary } from '../../node/index.js'

/** Time a join may take: it dials the link's addresses and fetches the room's history. */
const JOIN_TIMEOUT_MS = 120_000

/** Registers the `room` group. */
export function registerRoomCommands (program: Command, ctx: CliContext): void {
  const room = program
    .command('room')
    .description('create, join and manage rooms')
  room.addHelpText('after', `
ROOM is a room ID ('!…'), a keyroom:r/… link, or the name of one of your rooms.
USER is a user ID ('~…') or a keyroom:u/… link. Quote IDs in a shell: '!…' and '~…'.`)

  room
    .command('create')
    .description('create a room (you are its first member and administrator)')
    .option('--name <name>', 'the room\'s name')
    .option('--topic <topic>', 'the room\'s topic')
    .option('--public', 'anyone with the room\'s link may join (default: only invited users)')
    .action(async (options: { name?: string, topic?: string, public?: boolean }) => {
      const params = { ...options, public: options.public === true }
      const result = await callNode<{ roomId: string, name?: string, joinRule: string, uri: string }>(ctx, 'room.create', params)
      output(ctx, result, () => [
        `Created room ${result.roomId}${result.name === undefined ? '' : ` (${safeLine(result.name)})`}, ${result.joinRule === 'public' ? 'public' : 'invite only'}`,
        `  link: ${result.uri}`,
        result.joinRule === 'public'
          ? '  anyone with the link can join: keyroom room join \'LINK\''
          : `  invite someone: keyroom room invite '${result.roomId}' USER`
      ].join('\n'))
    })

  room
    .command('invite')
    .description('invite a user into a room')
    .argument('<room>', 'the room')
    .argument('<user>', 'who to invite (their user ID, as \'keyroom init\' or \'keyroom status\' prints it)')
    .action(async (roomRef: string, userRef: string) => {
      const result = await callNode<{ roomId: string, userId: string, eventId: string, delivered: boolean }>(ctx, 'room.invite', { room: checkRoomRef(roomRef), user: checkUserRef(userRef) })
      output(ctx, result, () => [
        `Invited ${result.userId} to ${result.roomId}`,
        result.delivered
          ? `  their device is connected: they can accept with  keyroom room join '${result.roomId}'`
          : '  their device is not connected now: the invite reaches it when it connects to a member of the room'
      ].join('\n'))
    })

  room
    .command('join')
    .description('join a room you were invited to, or a public room by its link')
    .argument('<room>', 'the room ID or its keyroom:r/… link')
    .action(async (roomRef: string) => {
      const result = await callNode<{ roomId: string, name?: string }>(ctx, 'room.join', { room: checkRoomRef(roomRef) }, { timeoutMs: JOIN_TIMEOUT_MS })
      output(ctx, result, () => `Joined ${result.roomId}${result.name === undefined ? '' : ` (${safeLine(result.name)})`}\n  chat: keyroom chat '${result.roomId}'`)
    })

  room
    .command('leave')
    .description('leave a room (or decline its invite)')
    .argument('<room>', 'the room')
    .option('--reason <text>', 'why (shown to the others)')
    .action(async (roomRef: string, options: { reason?: string }) => {
      const result = await callNode<{ roomId: string, eventId: string }>(ctx, 'room.leave', { room: checkRoomRef(roomRef), ...options })
      output(ctx, result, () => `Left ${result.roomId}`)
    })

  for (const [name, verb, past] of [
    ['kick', 'remove a user from a room (they may be invited again)', 'Kicked'],
    ['ban', 'ban a user from a room (every device of theirs, now and later)', 'Banned'],
    ['unban', 'lift a user\'s ban (they may then be invited again)', 'Unbanned']
  ] as const) {
    room
      .command(name)
      .description(verb)
      .argument('<room>', 'the room')
      .argument('<user>', 'the user')
      .option('--reason <text>', 'why (shown to the others)')
      .action(async (roomRef: string, userRef: string, options: { reason?: string }) => {
        const result = await callNode<{ roomId: string, userId: string, eventId: string }>(ctx, `room.${name}`, { room: checkRoomRef(roomRef), user: checkUserRef(userRef), ...options })
        output(ctx, result, () => `${past} ${result.userId} ${name === 'unban' ? 'in' : 'from'} ${result.roomId}`)
      })
  }

  for (const [name, what] of [['name', 'name'], ['topic', 'topic']] as const) {
    room
      .command(name)
      .description(`set the room's ${what} (needs the power to send state events: 50 by default)`)
      .argument('<room>', 'the room')
      .argument(`<${what}>`, `the new ${what}`)
      .action(async (roomRef: string, value: string) => {
        const result = await callNode<{ roomId: string, eventId: string }>(ctx, `room.${name}`, { room: checkRoomRef(roomRef), [name]: value })
        output(ctx, result, () => `Set the ${what} of ${result.roomId}`)
      })
  }

  room
    .command('power')
    .description('set a user\'s power level in a room (100 administrator, 50 moderator, 0 default)')
    .argument('<room>', 'the room')
    .argument('<user>', 'the user')
    .argument('<level>', 'an integer')
    .action(async (roomRef: string, userRef: string, levelText: string) => {
      if (!/^-?[0-9]{1,15}$/u.test(levelText)) throw usageError(`the power level must be an integer, got '${safeLine(levelText)}'`, 'e.g. 50 for a moderator, 100 for an administrator')
      const result = await callNode<{ roomId: string, userId: string, level: number }>(ctx, 'room.power', { room: checkRoomRef(roomRef), user: checkUserRef(userRef), level: Number(levelText) })
      output(ctx, result, () => `${result.userId} now has power level ${result.level} in ${result.roomId}`)
    })

  room
    .command('members')
    .description('list a room\'s members, with their membership and whether it is verified')
    .argument('<room>', 'the room')
    .action(async (roomRef: string) => {
      const result = await callNode<{ roomId: string, userId: string, members: RoomMember[] }>(ctx, 'room.members', { room: checkRoomRef(roomRef) })
      output(ctx, result, () => formatMembers(result.members, result.userId))
    })

  room
    .command('list')
    .description('list the rooms this node holds or was invited to')
    .action(async () => {
      const result = await callNode<{ rooms: RoomSummary[] }>(ctx, 'room.list')
      output(ctx, result, () => result.rooms.length === 0
        ? "no rooms yet: create one with 'keyroom room create --name NAME', or join one with 'keyroom room join LINK'"
        : result.rooms.map((r) => `${r.roomId}  ${pad(r.membership ?? '-', 6)}  ${r.name === undefined ? '' : safeLine(r.name)}`.trimEnd()).join('\n'))
    })

  room
    .command('link')
    .description('print the room\'s keyroom:r/… link (with this node\'s addresses), to share it')
    .argument('<room>', 'the room')
    .action(async (roomRef: string) => {
      const result = await callNode<{ roomId: string, uri: string }>(ctx, 'room.link', { room: checkRoomRef(roomRef) })
      output(ctx, result, () => result.uri)
    })

  historyOptions(room.command('history').description('same as \'keyroom history\'').argument('<room>', 'the room'))
    .action(async (roomRef: string, options: { limit?: string, before?: string }) => { await historyAction(ctx, roomRef, options) })
}

/** Members for people: user, membership, verified or why not; the local user marked. */
export function formatMembers (members: RoomMember[], self: string): string {
  return members.map((m) => {
    const verified = m.verified ? 'verified' : `unverified: ${safeLine(m.reason ?? 'no reason given')}`
    const name = m.displayName === undefined ? '' : `  "${safeLine(m.displayName)}"`
    return `${m.userId}  ${pad(m.membership, 6)}  ${verified}${m.userId === self ? '  (you)' : ''}${name}`
  }).join('\n') + `\n${members.length} member${members.length === 1 ? '' : 's'}: ${members.filter((m) => m.membership === 'join').length} joined, ${members.filter((m) => m.verified).length} verified`
}
