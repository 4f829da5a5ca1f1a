/**
 * The package version for `keyroom --version`, read from the package.json above this module —
 * `cli/` when run from source, `dist/cli/` when built — so it is never out of step.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The keyroom package version, or `unknown` when no package.json is found. */
export function packageVersion (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown, version?: unknown }
      if (pkg.name === 'keyroom' && typeof pkg.version === 'string') return pkg.version
    } catch {
      // not here; look one level up
    }
    dir = dirname(dir)
  }
  return 'unknown'
}
