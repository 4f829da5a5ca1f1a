/**
 * Finds `node:crypto` without importing it.
 *
 * The core must load in shells that have no `node:crypto` (browsers, React Native hosts, some
 * sidecars), so nothing here imports it statically: a static `import 'node:crypto'` would fail at
 * link time there. `process.getBuiltinModule` (Node ≥ 22.3, also Bun and Deno) hands a built-in
 * module over synchronously; where it is missing, or the module lacks what we call, the caller
 * falls back to the portable code (@noble/ed25519, @noble/hashes).
 *
 * Only the type is imported (erased at compile time under `verbatimModuleSyntax`).
 */
import type * as NodeCryptoModule from 'node:crypto'

/** The `node:crypto` module, as typed by `@types/node`. */
export type NodeCrypto = typeof NodeCryptoModule

/** What this code calls on `node:crypto`; a module lacking any of these is treated as absent. */
const REQUIRED = ['createHash', 'createPublicKey', 'createPrivateKey', 'sign', 'verify', 'timingSafeEqual'] as const

/**
 * Looks `node:crypto` up through `globalThis.process?.getBuiltinModule`. Returns `undefined` when
 * the runtime has no such module (or only a partial stand-in). Never throws.
 */
export function loadNodeCrypto (): NodeCrypto | undefined {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    const mod = proc?.getBuiltinModule?.('node:crypto') as Record<string, unknown> | undefined
    if (mod === undefined || mod === null) return undefined
    for (const name of REQUIRED) if (typeof mod[name] !== 'function') return undefined
    return mod as unknown as NodeCrypto
  } catch {
    return undefined
  }
}

/** `node:crypto` of this runtime, looked up once when the module loads; `undefined` if absent. */
export const nodeCrypto: NodeCrypto | undefined = loadNodeCrypto()
