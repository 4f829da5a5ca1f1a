/**
 * State resolution imports room/ for keyroom.1's default auth hooks (resolve.ts
 * `defaultAuthHooks`). That is safe only while nothing room/ or auth/ reaches imports state-res:
 * otherwise the modules would form an import cycle. This test follows every relative import from
 * those modules and fails when one reaches protocols/core/state-res/.
 */
import { readFileSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..')
const stateRes = resolve(root, 'protocols/core/state-res')

/** The relative import specifiers of a source file (static imports and re-exports, dynamic imports). */
function relativeImports (file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specs: string[] = []
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g
  for (const m of text.matchAll(re)) {
    const spec = (m[1] ?? m[2])!
    if (spec.startsWith('.')) specs.push(spec)
  }
  return specs
}

/** Every source file reachable from `entry` by relative imports, each with the chain that reached it. */
function reachable (entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>([[entry, [entry]]])
  const stack = [entry]
  while (stack.length > 0) {
    const file = stack.pop()!
    for (const spec of relativeImports(file)) {
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts')
      if (seen.has(target)) continue
      seen.set(target, [...seen.get(file)!, target])
      stack.push(target)
    }
  }
  return seen
}

describe('state-res → room/ is one way', () => {
  it.each(['protocols/core/room/index.ts', 'protocols/core/auth/index.ts'])('nothing reachable from %s imports state-res', (entry) => {
    const files = reachable(resolve(root, entry))
    expect(files.size).toBeGreaterThan(3)
    const offending: string[] = []
    for (const [file, chain] of files) {
      if (file.startsWith(stateRes)) offending.push(chain.map((f) => relative(root, f)).join(' → '))
    }
    expect(offending).toEqual([])
  })

  it('the walk does see state-res where it is imported (the check can fail)', () => {
    const files = reachable(resolve(root, 'protocols/core/index.ts'))
    expect([...files.keys()].some((file) => file.startsWith(stateRes))).toBe(true)
  })
})
