/**
 * `keyroom whois USER` and `keyroom device list|link|revoke`: users and their devices as the
 * running node knows them (connected devices, room states, the identity directory). Linking and
 * revoking need the user key (UPK), which the first device and restored ones hold; a new device
 * waits to be linked with `keyroom start --link`.
 */
import type { Command } from 'commander'
import type { CliContext } from '../context.js'
import { parseDeviceId } from '../../protocols/core/index.js'
import { usageError } from '../errors.js'
import { formatTime } from '../format.js'
import { callNode, output } from '../node-call.js'
import { checkUserRef } from '../refs.js'
import type { UserDevice } from '../../node/index.js'

/** Time a link may take: the node dials the new device and waits for its counter-signature. */
const LINK_TIMEOUT_MS = 120_000

/** Registers `whois` and the `device` group. */
export function registerUserCommands (program: Command, ctx: CliContext): void {
  program
    .command('whois')
    .description('show a user\'s devices, as far as this node knows them')
    .argument('<user>', 'a user ID (\'~…\') or keyroom:u/… link')
    .action(async (userRef: string) => {
      const result = await callNode<{ userId: string, uri: string, self: boolean, devices: UserDevice[] }>(ctx, 'whois', { user: checkUserRef(userRef) })
      output(ctx, result, () => [
        `user ${result.userId}${result.self ? '  (you)' : ''}`,
        `  link  ${result.uri}`,
        ...(result.devices.length === 0
          ? ['  no devices known: none is connected, and they share no room with you']
          : result.devices.map((d) => `  device ${formatDevice(d)}`))
      ].join('\n'))
    })

  const device = program.command('device').description('your devices: list, link a new one, revoke one')
  device.addHelpText('after', `
To add a device: on the new device run 'keyroom --data-dir DIR start --link' (it shows a
keyroom:link/… text), then on a device that holds your user key run 'keyroom device link TEXT'.`)
  device
    .command('list')
    .description('list your user\'s devices known to this node')
    .action(async () => {
      const result = await callNode<{ userId: string, holdsUserKey: boolean, devices: Array<UserDevice & { current: boolean }> }>(ctx, 'device.list')
      output(ctx, result, () => [
        `user ${result.userId}`,
        ...result.devices.map((d) => `  ${d.current ? `${d.deviceId}  this device${d.revoked ? ', REVOKED' : ''}` : formatDevice(d)}`),
        result.holdsUserKey
          ? 'this device holds your user key: it can link and revoke devices'
          : 'this device does not hold your user key: link and revoke devices from one that does'
      ].join('\n'))
    })
  device
    .command('link')
    .description('link a new device to your user (run \'keyroom start --link\' on the new device first)')
    .argument('<link>', 'the keyroom:link/… text the new device shows')
    .action(async (link: string) => {
      if (!/^keyroom:link\//iu.test(link)) {
        throw usageError(`${link} is not a device link`, "paste the whole 'keyroom:link/^…?code=…' text the new device shows (in single quotes)")
      }
      const result = await callNode<{ deviceId: string, expiresTs?: number, rooms: number }>(ctx, 'device.link', { link }, { timeoutMs: LINK_TIMEOUT_MS })
      output(ctx, result, () => `Linked ${result.deviceId} to your user; recorded in ${result.rooms} room${result.rooms === 1 ? '' : 's'}`)
    })
  device
    .command('revoke')
    .description('revoke one of your devices (lost, stolen, retired): its events no longer count from now on')
    .argument('<device>', 'the device ID (\'^…\', see \'keyroom device list\')')
    .option('--reason <text>', 'a short note, kept in the signed revocation')
    .action(async (deviceId: string, options: { reason?: string }) => {
      try {
        parseDeviceId(deviceId)
      } catch (err) {
        throw usageError(err instanceof Error ? err.message : String(err), "give a device ID ('^…') as 'keyroom device list' shows it")
      }
      const result = await callNode<{ deviceId: string, revokedTs: number, rooms: number }>(ctx, 'device.revoke', { device: deviceId, ...options })
      output(ctx, result, () => `Revoked ${result.deviceId} from ${formatTime(result.revokedTs)}; recorded in ${result.rooms} room${result.rooms === 1 ? '' : 's'}`)
    })
}

function formatDevice (d: UserDevice): string {
  const flags = [d.connected ? 'connected' : 'not connected']
  if (d.revoked) flags.push('REVOKED')
  if (d.expiresTs !== undefined) flags.push(`attested until ${formatTime(d.expiresTs)}`)
  return `${d.deviceId}  ${flags.join(', ')}`
}
