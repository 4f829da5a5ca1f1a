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
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { ErrorCode, KeyroomError } from '../../protocols/core/index.js'
import { createIdentity, hasIdentity } from '../../store/index.js'
import { dataDirOf } from '../context.js'
import type { CliContext } from '../context.js'
import { CliError, usageError } from '../errors.js'

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
  const passphrase = await readPassphrase(ctx, options)

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

/**
 * The passphrase from `--passphrase-file` (one trailing line break removed, as editors add one)
 * or `$KEYROOM_PASSPHRASE` (empty counts as unset); `undefined` for none.
 */
async function readPassphrase (ctx: CliContext, options: InitOptions): Promise<string | undefined> {
  if (options.passphraseFile !== undefined) {
    let text: string
    try {
      text = await readFile(options.passphraseFile, 'utf8')
    } catch (err) {
      const reason = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : String(err)
      throw new CliError(`cannot read the passphrase file ${options.passphraseFile} (${reason})`,
        'check the path given to --passphrase-file')
    }
    const passphrase = text.replace(/\r?\n$/u, '')
    if (passphrase.length === 0) throw usageError(`the passphrase file ${options.passphraseFile} is empty`, 'put the passphrase on its first line')
    return passphrase
  }
  const fromEnv = ctx.io.env.KEYROOM_PASSPHRASE
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv
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
