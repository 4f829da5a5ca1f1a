/**
 * Where a node's control socket lives, and whether something answers there.
 *
 * On Unix it is `<data dir>/control.sock` (mode 0600, in the 0700 data directory), so whoever can
 * read the keys can drive the node and nobody else can. On Windows it is a named pipe whose name is
 * derived from the data directory (pipes do not live in the file system).
 */
import { createHash } from 'node:crypto'
import { lstat, unlink } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { CliError, usageError } from '../errors.js'

/** File name of the control socket in the data directory. */
export const CONTROL_SOCKET_NAME = 'control.sock'

/**
 * Longest Unix socket path accepted, in bytes: `sun_path` holds 108 bytes on Linux and 104 on
 * macOS and the BSDs, the terminating NUL included; the smaller bound keeps one rule everywhere.
 */
export const MAX_SOCKET_PATH_BYTES = 103

/** Time a probe waits for a connection to be accepted. */
export const PROBE_TIMEOUT_MS = 2_000

/** The control socket's path for a data directory (throws a usage error when it would be too long). */
export function controlSocketPath (dataDir: string, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') {
    const digest = createHash('sha256').update(dataDir.toLowerCase()).digest('hex').slice(0, 32)
    return `\\\\.\\pipe\\keyroom-${digest}`
  }
  const path = join(dataDir, CONTROL_SOCKET_NAME)
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw usageError(`the data directory path is too long for a control socket (${path} is over ${MAX_SOCKET_PATH_BYTES} bytes)`,
      'use a shorter --data-dir (or $KEYROOM_HOME)')
  }
  return path
}

/** What a probe found at a control socket path. */
export type SocketState = 'live' | 'stale' | 'absent'

/**
 * Tries to connect: `live` when a process accepts, `stale` when a socket file is there but nobody
 * listens (the node was killed), `absent` when there is nothing.
 */
export async function probeSocket (path: string): Promise<SocketState> {
  return await new Promise((resolve) => {
    const socket = connect({ path })
    const timer = setTimeout(() => { finish('live') }, PROBE_TIMEOUT_MS)
    function finish (state: SocketState): void {
      clearTimeout(timer)
      socket.destroy()
      resolve(state)
    }
    socket.once('connect', () => { finish('live') })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      // ENOENT: no file. ECONNREFUSED: a socket file nobody listens on. ENOTSOCK: some other file.
      finish(err.code === 'ENOENT' ? 'absent' : 'stale')
    })
  })
}

/**
 * Removes a stale socket file (after a probe said nobody listens). Only a socket is removed: a
 * regular file or directory at that path is an error for the caller to report, never deleted.
 */
export async function removeStaleSocket (path: string, platform: NodeJS.Platform = process.platform): Promise<void> {
  if (platform === 'win32') return
  let stats
  try {
    stats = await lstat(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  if (!stats.isSocket()) {
    throw new CliError(`${path} exists and is not a socket`, 'move that file away; keyroom uses this name for its control socket')
  }
  await unlink(path).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
}
