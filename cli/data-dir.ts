/**
 * Where a node keeps its data when `--data-dir` is not given.
 *
 * Order: `--data-dir`, then `$KEYROOM_HOME`, then the platform's per-user data directory —
 * `$XDG_DATA_HOME/keyroom` or `~/.local/share/keyroom` (Linux and other Unixes, XDG Base
 * Directory spec: a relative `$XDG_DATA_HOME` is invalid and ignored), `~/Library/Application
 * Support/keyroom` (macOS), `%APPDATA%\keyroom` (Windows, roaming profile, as Electron's
 * `userData`). Relative paths are resolved against the working directory so messages and the
 * node always see one absolute path.
 */
import { posix, win32 } from 'node:path'

/** Folder name under the platform data directory. */
export const APP_DIR_NAME = 'keyroom'

/** Inputs of {@link resolveDataDir}; all explicit so it is testable for every platform. */
export interface DataDirInput {
  flag?: string | undefined
  env: Readonly<Record<string, string | undefined>>
  platform: NodeJS.Platform
  homedir: string
  cwd: string
}

/** The data directory to use, as an absolute path. */
export function resolveDataDir (input: DataDirInput): string {
  const path = input.platform === 'win32' ? win32 : posix
  const absolute = (p: string): string => path.resolve(input.cwd, p)
  if (input.flag !== undefined) return absolute(input.flag)
  const home = input.env.KEYROOM_HOME
  if (home !== undefined && home !== '') return absolute(home)
  switch (input.platform) {
    case 'win32': {
      const appData = input.env.APPDATA
      const base = appData !== undefined && appData !== '' ? appData : win32.join(input.homedir, 'AppData', 'Roaming')
      return win32.join(base, APP_DIR_NAME)
    }
    case 'darwin':
      return posix.join(input.homedir, 'Library', 'Application Support', APP_DIR_NAME)
    default: {
      const xdg = input.env.XDG_DATA_HOME
      const base = xdg !== undefined && posix.isAbsolute(xdg) ? xdg : posix.join(input.homedir, '.local', 'share')
      return posix.join(base, APP_DIR_NAME)
    }
  }
}
