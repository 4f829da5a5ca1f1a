/**
 * Crash-safe writes of small secret files (the keystore).
 *
 * A write goes to a temporary file in the same directory (so the final step is a same-filesystem
 * operation), opened with mode 0600 and flushed with fsync, and only then takes the final name:
 * a crash leaves either the old file or the new one, never half of one, and the secret is never
 * readable by others even for a moment. The directory is fsynced afterwards so the new name
 * survives a power cut.
 *
 * Creating a file that must not already exist (`exclusive`) uses `link(tmp, final)`, which fails
 * atomically with EEXIST, so two processes racing to create an identity cannot overwrite each
 * other. Filesystems without hard links (FAT, some Android storage) fall back to check-then-rename.
 */
import { randomBytes } from 'node:crypto'
import { chmod, link, open, rename, stat, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'

/** File mode of every secret file: owner read/write only. */
export const SECRET_FILE_MODE = 0o600

/** Thrown by {@link writeFileAtomic} with `exclusive` when the target exists. */
export class FileExistsError extends Error {
  constructor (readonly path: string) {
    super(`${path} already exists`)
    this.name = 'FileExistsError'
  }
}

function errno (err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined
}

/** Link errors that mean "this filesystem cannot hard-link", not "the target exists". */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK', 'EACCES'])

/**
 * Writes `data` to `path` atomically with mode 0600. With `exclusive`, throws
 * {@link FileExistsError} instead of replacing an existing file.
 */
export async function writeFileAtomic (path: string, data: string | Uint8Array, options: { exclusive?: boolean } = {}): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`
  let tmpExists = false
  try {
    const handle = await open(tmp, 'wx', SECRET_FILE_MODE)
    tmpExists = true
    try {
      await handle.writeFile(data)
      // The umask can only remove bits, but a pre-set ACL or an odd umask must not widen them.
      await handle.chmod(SECRET_FILE_MODE)
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (options.exclusive === true) {
      try {
        await link(tmp, path)
      } catch (err) {
        if (errno(err) === 'EEXIST') throw new FileExistsError(path)
        if (!NO_HARD_LINKS.has(errno(err) ?? '')) throw err
        if (await exists(path)) throw new FileExistsError(path)
        await rename(tmp, path)
        tmpExists = false
      }
    } else {
      await rename(tmp, path)
      tmpExists = false
    }
    await syncDirectory(dirname(path))
  } finally {
    if (tmpExists) await unlink(tmp).catch(() => {})
  }
}

/** True when `path` exists (any kind of entry). */
export async function exists (path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (err) {
    if (errno(err) === 'ENOENT') return false
    throw err
  }
}

/** fsync a directory so a rename or link in it is durable; a no-op where the OS refuses (Windows). */
async function syncDirectory (dir: string): Promise<void> {
  let handle
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch {
    // Windows cannot open or fsync directories; the rename is still atomic there.
  } finally {
    await handle?.close()
  }
}

/** Makes sure a secret file has mode 0600 (used when reading one written by an older version). */
export async function restrictMode (path: string): Promise<void> {
  if (process.platform === 'win32') return
  await chmod(path, SECRET_FILE_MODE)
}
