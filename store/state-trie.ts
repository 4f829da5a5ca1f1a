/**
 * Room state as a persistent, content-addressed hash trie (a HAMT in canonical form).
 *
 * Why: "state at event X" must be cheap to read back for every event, in rooms of 10,000 members
 * with long histories. Deltas plus periodic full snapshots either make reads walk long chains or
 * make each snapshot cost O(members) bytes. A persistent map shares every untouched node between
 * versions: writing a state change costs one path (≈ 3 small nodes), a message event costs
 * nothing (its state root is its parent's), and reading a whole state costs O(state size) in a
 * few batched reads (one per trie level), independent of history.
 *
 * Shape: a key's path is SHA-256 of its UTF-8 bytes, consumed 5 bits per level (fanout 32). A set
 * of at most `LEAF_MAX` entries is a leaf (entries sorted by key bytes); a larger set is a branch
 * (bitmap of non-empty children, their hashes, and the entry count). The form is canonical — it
 * depends only on the set of entries, never on the order of updates — so equal maps have equal
 * root hashes (`stateId`), and nodes are shared across rooms and events. SHA-256 paths keep the
 * trie balanced whatever state keys an attacker picks.
 *
 * Node hash: the first 20 bytes of SHA-256 of the node's encoding (160 bits: collisions cost
 * ~2^80 work). Every node read back is checked against its hash, so a damaged node is reported
 * as `ErrorCode.CorruptStore`, never read as a wrong state.
 */
import { hash as nodeHash } from 'node:crypto'
import { ByteReader, ByteWriter, compareBytes, corrupt, fromUtf8, utf8 } from './codec.js'

/** Bytes of a node hash (and of a state root). */
export const HASH_BYTES = 20
/** Path bits consumed per level: fanout 32, so a 10,000-entry state is ~3 levels deep. */
export const FANOUT_BITS = 5
/**
 * Most entries in a leaf. 32 keeps a leaf under ~4 KiB (the LevelDB block size) with
 * Matrix-sized keys, so a state change rewrites little, and a room of ≤ 32 state entries is one
 * node.
 */
export const LEAF_MAX = 32
/** Deepest level: 51 × 5 bits of the 256-bit path; a leaf there holds every remaining entry. */
export const MAX_DEPTH = Math.floor(256 / FANOUT_BITS)

/** The root of the empty state (never a real node: it is all zeros). */
export const EMPTY_ROOT: Uint8Array = new Uint8Array(HASH_BYTES)

const LEAF_TAG = 0x01
const BRANCH_TAG = 0x02

/** One state entry: state-map key → event ID. `path` is computed on demand and memoised. */
export interface LeafEntry {
  readonly key: string
  readonly keyBytes: Uint8Array
  readonly value: string
  path?: Uint8Array
}

export type TrieNode =
  | { readonly kind: 'leaf', readonly entries: readonly LeafEntry[], readonly size: number }
  | { readonly kind: 'branch', readonly count: number, readonly bitmap: number, readonly children: readonly Uint8Array[], readonly size: number }

/**
 * Where the trie reads nodes from. `load` returns the nodes in order and throws `CorruptStore`
 * for a hash it cannot find (a stored root always has all its nodes).
 */
export interface NodeSource {
  load(hashes: readonly Uint8Array[]): Promise<TrieNode[]>
}

/** Receives each node an update creates (the caller writes them in the same batch). */
export type NodeSink = (hash: Uint8Array, bytes: Uint8Array, node: TrieNode) => void

/** Whether `root` is the empty state. */
export function isEmptyRoot (root: Uint8Array): boolean {
  return root.every(b => b === 0)
}

/** The hex form of a root, as `StoredEvent.stateId` shows it. */
export function rootToHex (root: Uint8Array): string {
  return Buffer.from(root.buffer, root.byteOffset, root.byteLength).toString('hex')
}

function sha256 (bytes: Uint8Array): Uint8Array {
  const d = nodeHash('sha256', bytes, 'buffer')
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
}

function pathOf (e: { keyBytes: Uint8Array, path?: Uint8Array }): Uint8Array {
  e.path ??= sha256(e.keyBytes)
  return e.path
}

/** Child index of a path at `depth`: bits [5·depth, 5·depth + 5) of the path, MSB first. */
export function chunk (path: Uint8Array, depth: number): number {
  const bit = depth * FANOUT_BITS
  const byte = bit >> 3
  const window = (path[byte]! << 8) | (path[byte + 1] ?? 0)
  return (window >> (16 - FANOUT_BITS - (bit & 7))) & ((1 << FANOUT_BITS) - 1)
}

function popcount (x: number): number {
  let v = x >>> 0
  let n = 0
  while (v !== 0) { v &= v - 1; n++ }
  return n
}

/** Index into `children` of child `bit`, given the bitmap. */
function slot (bitmap: number, bit: number): number {
  return popcount(bitmap & ((1 << bit) - 1))
}

function nodeCount (node: TrieNode): number {
  return node.kind === 'leaf' ? node.entries.length : node.count
}

// ---- encoding ------------------------------------------------------------------------------

function encodeLeaf (entries: readonly LeafEntry[]): Uint8Array {
  const w = new ByteWriter(16 + entries.length * 96).u8(LEAF_TAG).varint(entries.length)
  for (const e of entries) w.bytes(e.keyBytes).string(e.value)
  return w.finish().slice()
}

function encodeBranch (count: number, bitmap: number, children: readonly Uint8Array[]): Uint8Array {
  const w = new ByteWriter(8 + children.length * HASH_BYTES).u8(BRANCH_TAG).varint(count).u32(bitmap)
  for (const c of children) w.raw(c)
  return w.finish().slice()
}

/** The hash of a node's encoding. */
export function hashNode (bytes: Uint8Array): Uint8Array {
  return sha256(bytes).slice(0, HASH_BYTES)
}

/**
 * Decodes a node read back under `hash`, checking the hash and the structural invariants of
 * the canonical form (sorted unique keys, branch counts above `LEAF_MAX`).
 */
export function decodeNode (hash: Uint8Array, bytes: Uint8Array): TrieNode {
  if (compareBytes(hashNode(bytes), hash) !== 0) throw corrupt('state node does not match its hash')
  const r = new ByteReader(bytes, 'state node')
  const tag = r.u8()
  if (tag === LEAF_TAG) {
    const n = r.varint()
    if (n === 0) throw corrupt('state node: empty leaf')
    const entries: LeafEntry[] = []
    for (let i = 0; i < n; i++) {
      const keyBytes = r.bytes()
      const key = fromUtf8(keyBytes, 'state node')
      const value = r.string()
      const prev = entries[i - 1]
      if (prev !== undefined && compareBytes(prev.keyBytes, keyBytes) >= 0) throw corrupt('state node: leaf keys out of order')
      entries.push({ key, keyBytes, value })
    }
    r.end()
    return { kind: 'leaf', entries, size: bytes.length }
  }
  if (tag === BRANCH_TAG) {
    const count = r.varint()
    const bitmap = r.u32()
    const n = popcount(bitmap)
    if (count <= LEAF_MAX || n === 0) throw corrupt('state node: branch is not canonical')
    const children: Uint8Array[] = []
    for (let i = 0; i < n; i++) children.push(r.raw(HASH_BYTES).slice())
    r.end()
    return { kind: 'branch', count, bitmap, children, size: bytes.length }
  }
  throw corrupt(`state node: unknown tag ${tag}`)
}

// ---- building and updating -----------------------------------------------------------------

/** The result of building or updating a subtree: its hash (null = empty) and entry count. */
interface Subtree { hash: Uint8Array | null, count: number }

function emitNode (sink: NodeSink, node: TrieNode, bytes: Uint8Array): Uint8Array {
  const h = hashNode(bytes)
  sink(h, bytes, node)
  return h
}

/** Builds the canonical subtree of `entries` (sorted by key bytes, unique) at `depth`. */
function build (entries: readonly LeafEntry[], depth: number, sink: NodeSink): Subtree {
  if (entries.length === 0) return { hash: null, count: 0 }
  if (entries.length <= LEAF_MAX || depth >= MAX_DEPTH) {
    const bytes = encodeLeaf(entries)
    return { hash: emitNode(sink, { kind: 'leaf', entries, size: bytes.length }, bytes), count: entries.length }
  }
  const groups = new Map<number, LeafEntry[]>()
  for (const e of entries) {
    const c = chunk(pathOf(e), depth)
    let g = groups.get(c)
    if (g === undefined) { g = []; groups.set(c, g) }
    g.push(e)
  }
  let bitmap = 0
  for (const c of groups.keys()) bitmap |= 1 << c
  const children: Uint8Array[] = []
  for (let c = 0; c < 32; c++) {
    const g = groups.get(c)
    if (g !== undefined) children.push(build(g, depth + 1, sink).hash!)
  }
  bitmap >>>= 0
  const bytes = encodeBranch(entries.length, bitmap, children)
  return { hash: emitNode(sink, { kind: 'branch', count: entries.length, bitmap, children, size: bytes.length }, bytes), count: entries.length }
}

/** A pending change: set `key` to `value`, or remove it (`null`). */
interface Change {
  readonly key: string
  readonly keyBytes: Uint8Array
  readonly value: string | null
  path?: Uint8Array
}

function sortEntries (entries: LeafEntry[]): LeafEntry[] {
  // Byte order of the UTF-8 keys: deterministic, and the order the leaf encoding requires.
  return entries.sort((a, b) => compareBytes(a.keyBytes, b.keyBytes))
}

async function collectEntries (roots: Uint8Array[], source: NodeSource, signal?: AbortSignal): Promise<LeafEntry[]> {
  const out: LeafEntry[] = []
  let level = roots
  while (level.length > 0) {
    signal?.throwIfAborted()
    const nodes = await source.load(level)
    level = []
    for (const n of nodes) {
      if (n.kind === 'leaf') out.push(...n.entries)
      else level.push(...n.children)
    }
  }
  return out
}

async function update (hash: Uint8Array | null, depth: number, changes: Change[], source: NodeSource, sink: NodeSink): Promise<Subtree & { before: number }> {
  if (hash === null) {
    const entries = changes.filter(c => c.value !== null).map(c => ({ key: c.key, keyBytes: c.keyBytes, value: c.value!, path: c.path }))
    return { ...build(sortEntries(entries), depth, sink), before: 0 }
  }
  const [node] = await source.load([hash])
  if (node === undefined) throw corrupt('state node missing')
  if (node.kind === 'leaf') {
    const byKey = new Map<string, LeafEntry>()
    for (const e of node.entries) byKey.set(e.key, e)
    let changed = false
    for (const c of changes) {
      const old = byKey.get(c.key)
      if (c.value === null) {
        if (old !== undefined) { byKey.delete(c.key); changed = true }
      } else if (old?.value !== c.value) {
        byKey.set(c.key, { key: c.key, keyBytes: c.keyBytes, value: c.value, path: c.path ?? old?.path })
        changed = true
      }
    }
    if (!changed) return { hash, count: node.entries.length, before: node.entries.length }
    return { ...build(sortEntries([...byKey.values()]), depth, sink), before: node.entries.length }
  }
  // Branch: route each change to its child, update the touched children, then rebuild this node.
  const groups = new Map<number, Change[]>()
  for (const c of changes) {
    const bit = chunk(pathOf(c), depth)
    let g = groups.get(bit)
    if (g === undefined) { g = []; groups.set(bit, g) }
    g.push(c)
  }
  const children = new Map<number, Uint8Array>()
  for (let bit = 0; bit < 32; bit++) {
    if ((node.bitmap >>> bit) & 1) children.set(bit, node.children[slot(node.bitmap, bit)]!)
  }
  let count = node.count
  let changed = false
  const results = await Promise.all([...groups].map(async ([bit, group]) => {
    const old = children.get(bit) ?? null
    return { bit, old, sub: await update(old, depth + 1, group, source, sink) }
  }))
  for (const { bit, old, sub } of results) {
    count += sub.count - sub.before
    if (sub.hash === null) children.delete(bit)
    else children.set(bit, sub.hash)
    if (old === null ? sub.hash !== null : (sub.hash === null || compareBytes(old, sub.hash) !== 0)) changed = true
  }
  if (!changed) return { hash, count, before: node.count }
  if (count <= LEAF_MAX) {
    // Canonical form: a set this small is a leaf. Every child now holds ≤ LEAF_MAX entries, so
    // each is a leaf (or empty) and one level of reads gathers them.
    const entries = await collectEntries([...children.values()], source)
    return { ...build(sortEntries(entries), depth, sink), before: node.count }
  }
  let bitmap = 0
  const list: Uint8Array[] = []
  for (let bit = 0; bit < 32; bit++) {
    const h = children.get(bit)
    if (h !== undefined) { bitmap |= 1 << bit; list.push(h) }
  }
  bitmap >>>= 0
  const bytes = encodeBranch(count, bitmap, list)
  return { hash: emitNode(sink, { kind: 'branch', count, bitmap, children: list, size: bytes.length }, bytes), count, before: node.count }
}

/**
 * Applies `changes` to the state at `root` and returns the new root. New nodes go to `sink`;
 * unchanged subtrees keep their hashes (and are not re-emitted).
 */
export async function updateState (root: Uint8Array, changes: ReadonlyMap<string, string | null>, source: NodeSource, sink: NodeSink): Promise<Uint8Array> {
  if (changes.size === 0) return root
  const list: Change[] = []
  for (const [key, value] of changes) list.push({ key, keyBytes: utf8(key), value })
  const result = await update(isEmptyRoot(root) ? null : root, 0, list, source, sink)
  return result.hash ?? EMPTY_ROOT
}

/**
 * The whole state at `root`, reading one trie level per batch. The map iterates in trie order:
 * deterministic (equal states iterate alike) but not sorted.
 */
export async function readState (root: Uint8Array, source: NodeSource, signal?: AbortSignal): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  if (isEmptyRoot(root)) return out
  for (const e of await collectEntries([root], source, signal)) out.set(e.key, e.value)
  return out
}

/** Only `keys` of the state at `root` (absent keys are absent from the result). */
export async function lookupState (root: Uint8Array, keys: readonly string[], source: NodeSource, signal?: AbortSignal): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  if (isEmptyRoot(root)) return out
  await Promise.all(keys.map(async key => {
    const probe = { keyBytes: utf8(key) } as { keyBytes: Uint8Array, path?: Uint8Array }
    let hash = root
    for (let depth = 0; ; depth++) {
      signal?.throwIfAborted()
      const [node] = await source.load([hash])
      if (node === undefined) throw corrupt('state node missing')
      if (node.kind === 'leaf') {
        const hit = node.entries.find(e => e.key === key)
        if (hit !== undefined) out.set(key, hit.value)
        return
      }
      const bit = chunk(pathOf(probe), depth)
      if (((node.bitmap >>> bit) & 1) === 0) return
      hash = node.children[slot(node.bitmap, bit)]!
    }
  }))
  return out
}

/** Entry count of a stored node (exposed for tests of the canonical form). */
export function countOf (node: TrieNode): number {
  return nodeCount(node)
}
