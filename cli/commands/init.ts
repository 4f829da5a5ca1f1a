/**
 * `keyroom init [--recover] [--passphrase-file FILE]`: create this node's identity — a new user
 * key (UPK) or, with `--recover`, the one behind a recovery phrase — and a new device key (UDK)
 * attested by it, in the data directory.
 *
 * Secrets never come from argv (they would show in `ps` and shell history): the recovery phrase
 * comes from `KEYROOM_RECOVERY_PHRASE` or one line of stdin, the passphrase from
 * `--passphrase-file` or `KEYROOM_PASSPHRASE`. A prompt is printed only when stdin is a terminal
 * (DESIGN §6: "`init` never prompts when stdin is not a terminal").
 */
import type { Command } from 'commander'
import { ErrorCode, KeyroomError } from '../../protocols/core/index.js'
import { dataDirOf } from '../context.js'
import type { CliContext } from '../context.js'
import { usageError } from '../errors.js'
import { readPassphrase } from '../passphrase.js'

/** Options of `init`, as commander hands them over. */
interface InitOptions {
  recover?: boolean
  passphraseFile?: string
}

/** Registers `init`. */
export function registerInitCommand (program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description('create this node\'s identity (user key, device key, recovery phrase)')
    .option('--recover', 'restore an identity from its recovery phrase (read from stdin or $KEYROOM_RECOVERY_PHRASE)')
    .option('--passphrase-file <file>', 'encrypt the keys with the passphrase in FILE (or set $KEYROOM_PASSPHRASE)')
    .action(async (options: InitOptions) => { await init(ctx, options) })
}

async function init (ctx: CliContext, options: InitOptions): Promise<void> {
  const { io } = ctx
  const json = ctx.globals().json === true
  const dataDir = dataDirOf(ctx)
  const passphrase = await readPassphrase(ctx, options.passphraseFile)
  // Loaded on demand: the keystore pulls in crypto that commands talking to a running node do not need.
  const { createIdentity, hasIdentity } = await import('../../store/index.js')

  // Refuse early, before asking for 24 words; createIdentity checks again, atomically.
  if (await hasIdentity(dataDir)) {
    throw new KeyroomError(ErrorCode.IdentityExists, `an identity already exists in ${dataDir}`, {
      hint: 'use another --data-dir, or keep using this identity'
    })
  }
  const recoveryPhrase = options.recover === true ? await readRecoveryPhrase(ctx) : undefined

  const created = await createIdentity(dataDir, {
    ...(passphrase === undefined ? {} : { passphrase }),
    ...(recoveryPhrase === undefined ? {} : { recoveryPhrase })
  })

  if (json) {
    io.stdout(JSON.stringify({ userId: created.userId, deviceId: created.deviceId, recoveryPhrase: created.recoveryPhrase }) + '\n')
    return
  }
  io.stdout([
    recoveryPhrase === undefined ? `Created a new identity in ${dataDir}` : `Restored your identity in ${dataDir}, with a new device key`,
    '',
    `  user ID    ${created.userId}`,
    `  device ID  ${created.deviceId}`,
    '',
    'Recovery phrase (24 words). Write it down and keep it safe: it is the only way to restore',
    'this identity on another device or if this one is lost. Anyone who has it can be you.',
    '',
    `  ${created.recoveryPhrase}`,
    ''
  ].join('\n'))
  if (passphrase === undefined) {
    io.stderr('note: the keys are stored unencrypted; use --passphrase-file or KEYROOM_PASSPHRASE to encrypt them\n')
  }
}

/** The recovery phrase from `$KEYROOM_RECOVERY_PHRASE`, else one line of stdin. */
async function readRecoveryPhrase (ctx: CliContext): Promise<string> {
  const { io } = ctx
  const fromEnv = io.env.KEYROOM_RECOVERY_PHRASE
  if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv
  if (io.stdinIsTTY) io.stderr('Recovery phrase (24 words, then Enter): ')
  const line = await io.readLine()
  if (line === undefined || line.trim() === '') {
    throw usageError('no recovery phrase given', 'type the 24 words on stdin (one line) or set KEYROOM_RECOVERY_PHRASE')
  }
  return line
}
