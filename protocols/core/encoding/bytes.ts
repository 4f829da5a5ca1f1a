/**
 * Unsigned lexicographic byte order (memcmp order, a proper prefix first): negative if `a` sorts
 * first, positive if `b` does, 0 if equal. The order LevelDB's default comparator keeps keys in,
 * and the tie-break of the identity directory's selector.
 */
export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return a.length - b.length
}
