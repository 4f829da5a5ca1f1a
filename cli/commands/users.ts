/**
 * `keyroom whois USER` and `keyroom device list|link|revoke`: users and their devices as the
 * running node knows them (connected devices, room states, the identity directory).
 */
import type { Command } from 'commander'
import type { CliContext } from '../context.js'
import { callNode, output } from '../node-call.js'
import { checkUserRef } from '../refs.js'
import type { UserDevice } from '../../node/index.js'

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

  const device = program.command('device').description('your devices')
  device
    .command('list')
    .description('list your user\'s devices known to this node')
    .action(async () => {
      const result = await callNode<{ userId: string, devices: Array<UserDevice & { current: boolean }> }>(ctx, 'device.list')
      output(ctx, result, () => [`user ${result.userId}`, ...result.devices.map((d) => `  ${d.current ? `${d.deviceId}  this device` : formatDevice(d)}`)].join('\n'))
    })
  device
    .command('link')
    .description('link a new device to your user (not supported yet)')
    .action(async () => { output(ctx, await callNode(ctx, 'device.link'), () => '') })
  device
    .command('revoke')
    .description('revoke one of your devices (not supported yet)')
    .argument('<device>', 'the device ID (\'^…\')')
    .action(async (deviceId: string) => { output(ctx, await callNode(ctx, 'device.revoke', { device: deviceId }), () => '') })
}

function formatDevice (d: UserDevice): string {
  const flags = [d.connected ? 'connected' : 'not connected']
  if (d.revoked) flags.push('REVOKED')
  if (d.expiresTs !== undefined) flags.push(`attested until ${new Date(d.expiresTs).toISOString().slice(0, 10)}`)
  return `${d.deviceId}  ${flags.join(', ')}`
}
