/**
 * Imports point one way: core ← (wire, store) ← node ← cli. Other folders reach a folder only
 * through its index.ts. The pure core imports no I/O modules.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

function sourceFiles (dir: string): string[] {
  const out: string[] = []
  let entries: string[]
  try { entries = readdirSync(dir) } catch { return out }
  for (const name of entries) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path))
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

/** The layer a source file belongs to: 'core', 'wire', 'store', 'node' or 'cli'. */
function layerOf (file: string): string {
  const rel = relative(root, file).split(sep)
  if (rel[0] === 'protocols') return rel[1] === 'core' ? 'core' : 'wire'
  return rel[0] ?? ''
}

/** Which layers each layer may import. */
const ALLOWED: Record<string, string[]> = {
  core: ['core'],
  wire: ['core', 'wire'],
  store: ['core', 'store'],
  node: ['core', 'wire', 'store', 'node'],
  cli: ['core', 'wire', 'store', 'node', 'cli']
}

/** Node built-ins and packages the pure core must not import (I/O, clock-bound, network). */
const CORE_FORBIDDEN = /^(node:)?(fs|net|dgram|http|https|child_process|worker_threads|os|path|tls|dns)(\/|$)|^libp2p|^@libp2p\/|^@chainsafe\/|^level|^classic-level|^commander/

function importsOf (file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specs: string[] = []
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g
  for (const m of text.matchAll(re)) specs.push((m[1] ?? m[2])!)
  return specs
}

/** The top-level folder unit a file sits in, e.g. protocols/core, protocols/gossip, store, node. */
function unitOf (file: string): string {
  const rel = relative(root, file).split(sep)
  return rel[0] === 'protocols' ? `protocols/${rel[1] ?? ''}` : (rel[0] ?? '')
}

describe('architecture', () => {
  const files = ['protocols', 'store', 'node', 'cli'].flatMap(d => sourceFiles(join(root, d)))

  it('finds the source tree', () => {
    expect(files.length).toBeGreaterThan(0)
  })

  it('imports point one way and cross folders only through index.ts', () => {
    const problems: string[] = []
    for (const file of files) {
      const from = layerOf(file)
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.')) {
          if (from === 'core' && CORE_FORBIDDEN.test(spec)) problems.push(`${relative(root, file)} imports ${spec} (core is pure)`)
          continue
        }
        const target = resolve(dirname(file), spec)
        const to = layerOf(target)
        if (!(ALLOWED[from] ?? []).includes(to)) problems.push(`${relative(root, file)} (${from}) imports ${spec} (${to})`)
        if (unitOf(target) !== unitOf(file)) {
          const rel = relative(join(root, unitOf(target)), target)
          if (rel !== 'index.js' && rel !== 'index.ts') problems.push(`${relative(root, file)} reaches into ${spec}; import its index.ts`)
        }
      }
    }
    expect(problems).toEqual([])
  })
})
