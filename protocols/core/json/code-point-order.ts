/**
 * Ordering strings by Unicode code point.
 *
 * Matrix canonical JSON sorts object keys "lexicographically by Unicode codepoint" (appendices,
 * "Canonical JSON"; Python's `sort_keys=True` compares `str` by code point). JavaScript's `<` and
 * default `sort()` compare UTF-16 code units instead, and the two orders differ in one place: a
 * character above U+FFFF is stored as a surrogate pair (code units 0xD800–0xDFFF), which compares
 * *below* U+E000–U+FFFF as code units but *above* them as a code point. E.g. U+1F600 "😀" sorts
 * after U+FFFD "�" by code point but before it by code unit.
 */

/**
 * Compare two strings by Unicode code point: negative if `a` sorts first, positive if `b` does,
 * 0 if equal. Equal to comparing the strings' UTF-8 bytes. Well-formed input is assumed; for lone
 * surrogates the result is still a deterministic total order.
 */
export function compareCodePoints (a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x !== y) {
      // Only when both units are >= 0xD800 can code-unit order disagree with code-point order.
      // Move U+E000–U+FFFF down by 0x800 and surrogates up by 0x2000, so every surrogate (the
      // start or end of a character above U+FFFF) sorts after every unit in U+E000–U+FFFF.
      // At the first difference both strings are aligned the same way (they share the prefix), so
      // comparing high with high or low with low surrogates is already code-point order.
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000
      }
      return x - y
    }
  }
  return a.length - b.length
}
