/**
 * The keystore passphrase, for `init` (to seal new keys) and `start` (to open them). Never from
 * argv, where it would show in `ps` and shell history: from `--passphrase-file` or
 * `$KEYROOM_PASSPHRASE`.
 */
import { readFile } from 'node:fs/promises'
import type { CliContext } from './context.js'
import { CliError, usageError } from './errors.js'

/**
 * The passphrase from `file` (one trailing line break removed, as editors add one) or
 * `$KEYROOM_PASSPHRASE` (empty counts as unset); `undefined` for none.
 */
export async function readPassphrase (ctx: CliContext, file: string | undefined): Promise<string | undefined> {
  if (file !== undefined) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      const reason = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : String(err)
      throw new CliError(`cannot read the passphrase file ${file} (${reason})`, 'check the path given to --passphrase-file')
    }
    const passphrase = text.replace(/\r?\n$/u, '')
    if (passphrase.length === 0) throw usageError(`the passphrase file ${file} is empty`, 'put the passphrase on its first line')
    return passphrase
  }
  const fromEnv = ctx.io.env.KEYROOM_PASSPHRASE
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv
}
