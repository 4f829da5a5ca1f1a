/**
 * `keyroom send ROOM TEXT…` and `keyroom history ROOM [--limit N] [--before EVENT]`.
 */
import type { Command } from 'commander'
import type { CliContext } from '../context.js'
import { usageError } from '../errors.js'
import { formatMessage, safeLine } from '../format.js'
import { callNode, output } from '../node-call.js'
import { checkRoomRef } from '../refs.js'
import type { RoomMessage } from '../../node/index.js'

/** Messages `history` shows when `--limit` is not given: a screenful. */
export const DEFAULT_HISTORY_LIMIT = 20

/** Registers `send` and `history`. */
export function registerMessageCommands (program: Command, ctx: CliContext): void {
  program
    .command('send')
    .description('send a text message to a room')
    .argument('<room>', 'the room (ID, keyroom:r/… link, or name)')
    .argument('<text...>', 'the message (several words are joined with spaces)')
    .option('--emote', 'send it as an action (m.emote: "* you waves")')
    .action(async (roomRef: string, words: string[], options: { emote?: boolean }) => {
      const body = words.join(' ')
      if (body.trim() === '') throw usageError('the message is empty', 'type some text after the room')
      const result = await callNode<{ roomId: string, eventId: string }>(ctx, 'send', {
        room: checkRoomRef(roomRef), body, ...(options.emote === true ? { msgtype: 'm.emote' } : {})
      })
      output(ctx, result, () => `sent ${result.eventId}`)
    })

  historyOptions(program.command('history').description('print a room\'s latest messages, oldest first').argument('<room>', 'the room (ID, keyroom:r/… link, or name)'))
    .action(async (roomRef: string, options: { limit?: string, before?: string }) => { await historyAction(ctx, roomRef, options) })
}

/** The options of `history` (shared with `room history`). */
export function historyOptions (command: Command): Command {
  return command
    .option('--limit <n>', `how many messages (1 to 1000, default ${DEFAULT_HISTORY_LIMIT})`)
    .option('--before <event-id>', 'only messages before this event (to page back)')
}

/** `history`: the node's messages of a room, oldest first. */
export async function historyAction (ctx: CliContext, roomRef: string, options: { limit?: string, before?: string }): Promise<void> {
  const limit = options.limit === undefined ? DEFAULT_HISTORY_LIMIT : Number(options.limit)
  if (!/^\d+$/u.test(options.limit ?? '1') || !Number.isSafeInteger(limit) || limit < 1 || limit > 1000) {
    throw usageError(`--limit ${options.limit ?? ''} is not a number from 1 to 1000`, "e.g. 'keyroom history ROOM --limit 100'")
  }
  if (options.before !== undefined && !options.before.startsWith('$')) {
    throw usageError(`--before ${options.before} is not an event ID`, "event IDs start with '$' (see 'keyroom --json history ROOM')")
  }
  const result = await callNode<{ roomId: string, userId: string, messages: RoomMessage[] }>(ctx, 'history', {
    room: checkRoomRef(roomRef), limit, ...(options.before === undefined ? {} : { before: options.before })
  })
  output(ctx, result, () => result.messages.length === 0
    ? `no messages in ${safeLine(result.roomId)} yet`
    : result.messages.map((m) => formatMessage(m, { self: result.userId })).join('\n'))
}
