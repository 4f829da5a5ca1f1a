/**
 * keyroom's ed25519 accept/reject rule — a consensus rule.
 *
 * Every node decides alone whether an event's signature is valid, and a room's state follows from
 * those decisions. Two nodes that disagree on one signature fork the room. RFC 8032 §5.1.7 leaves
 * implementations room to differ (cofactored or cofactorless equation; whether to reject
 * small-order keys, non-canonical points, S ≥ L), and they do differ
 * (Chalkias, Garillot, Nikolaenko, "Taming the many EdDSAs", SSR 2020; the ed25519-speccheck and
 * C2SP/CCTV ed25519 vectors):
 * - `node:crypto` (OpenSSL) changed its answer between versions: Node 20 (OpenSSL 3.0) accepts
 *   small-order public keys and R points and the non-canonical key of speccheck case 11;
 *   Node 24 (OpenSSL 3.5) rejects them.
 * - @noble/ed25519 3.x verifies with the cofactored equation `[8][S]B = [8]R + [8][k]A` in every
 *   mode; OpenSSL uses the cofactorless `[S]B = R + [k]A`. They part ways on mixed-order inputs.
 * - noble throws on a wrong-length signature where `node:crypto` returns false.
 * So no library call is the rule. keyroom states its own, checks it before (native) or instead of
 * (portable) the library, and both backends decide identically on every Node version.
 *
 * The rule is libsodium's `crypto_sign_verify_detached` ("strict" verification; also
 * ed25519-dalek's `verify_strict`, and Node 24's current behaviour), chosen because it
 * 1. gives strong unforgeability: a signature cannot be mauled into a second valid one (S < L,
 *    canonical R), so an event ID that covers the signature cannot be re-minted;
 * 2. makes a signature bind its key and message (no small-order A or R: with a small-order A,
 *    `[S]B = R + [k]A` holds for many messages at once);
 * 3. is what well-kept native libraries already do, so a later libsodium/OpenSSL backend can match
 *    it with cheap byte pre-checks.
 * On the speccheck vectors it accepts only case 3 (as libsodium does); on the CCTV vectors it
 * accepts exactly those flagged with nothing but `low_order_component_A/R`.
 *
 * The rule, for a public key A (32 bytes), message M and signature R ‖ S (64 bytes):
 * 1. A is exactly 32 bytes and the signature exactly 64 bytes — else reject (never throw).
 * 2. S, little-endian, is < L (the prime group order). Rejects S + L style malleability.
 * 3. A is a canonical encoding (y < p, and not x = 0 with the sign bit set), decodes to a curve
 *    point, and is not one of the 8 small-order (torsion) points.
 * 4. R is canonical and not of small order (same byte checks; R need not be decoded, see 5).
 * 5. Cofactorless equation, checked as OpenSSL and libsodium do: encode([S]B − [k]A) equals the
 *    R bytes, with k = SHA-512(R ‖ A ‖ M) mod L over the bytes as received. Encodings produced
 *    by `encode` are always canonical curve points, so an R that is off-curve or non-canonical
 *    can never match; check 4 makes that explicit and cheap.
 * Mixed-order points (a prime-order point plus a torsion component) are not rejected by 3 and 4 —
 * no byte check can find them — but the cofactorless equation (5) rejects every signature whose
 * torsion parts do not cancel, exactly as libsodium and OpenSSL do.
 *
 * This file holds checks 1–4: pure byte comparisons, no field arithmetic (decoding A is left to the
 * backend: OpenSSL's ge_frombytes and noble's `Point.fromBytes` both reject off-curve y).
 */

/** Public key length in bytes (RFC 8032 §5.1.5). */
export const PUBLIC_KEY_LENGTH = 32
/** Signature length in bytes: R (32) ‖ S (32) (RFC 8032 §5.1.6). */
export const SIGNATURE_LENGTH = 64
/** Seed (RFC 8032 "private key") length in bytes. */
export const SEED_LENGTH = 32

/** p = 2^255 − 19, the field prime. */
export const P = (1n << 255n) - 19n
/** L = 2^252 + 27742317777372353535851937790883648493, the prime order of the base point. */
export const L = (1n << 252n) + 27742317777372353535851937790883648493n

/** L as 32 little-endian bytes, for the byte-wise `S < L` comparison. */
const L_BYTES = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10
])

/**
 * The y-coordinates (canonical, 32 bytes little-endian, sign bit clear) of the 8 points of small
 * order. The torsion subgroup of edwards25519 is cyclic of order 8:
 * - y = 1: the identity (x = 0);
 * - y = p − 1: the point of order 2 (x = 0);
 * - y = 0: the two points of order 4 (x = ±√−1);
 * - y = ±y₈: the four points of order 8 (x = ±x₈ for each y); y₈ and p − y₈ are the last two
 *   entries below.
 * A point whose y is one of these five values is small-order whatever its x sign, so testing the
 * encoding with the sign bit masked off covers all 8 points and the "x = 0 with sign bit set"
 * spellings of the first two. Listed in the C2SP/CCTV ed25519 README; checked against noble's
 * point arithmetic in the tests.
 */
export const SMALL_ORDER_Y: readonly Uint8Array[] = [
  // y = 0 (order 4)
  hex32('0000000000000000000000000000000000000000000000000000000000000000'),
  // y = 1 (identity, order 1)
  hex32('0100000000000000000000000000000000000000000000000000000000000000'),
  // y = p − 1 (order 2)
  hex32('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'),
  // y = y₈ (order 8)
  hex32('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'),
  // y = p − y₈ (order 8)
  hex32('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05')
]

function hex32 (hex: string): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}

/**
 * Rule 2: is the 32-byte little-endian scalar at `bytes[offset..offset+32]` below L?
 * Compares from the most significant byte down; the first differing byte decides.
 */
export function isScalarBelowL (bytes: Uint8Array, offset = 0): boolean {
  for (let i = 31; i >= 0; i--) {
    const b = bytes[offset + i]!
    const l = L_BYTES[i]!
    if (b !== l) return b < l
  }
  return false // equal to L
}

/**
 * Rules 3–4, the byte part: is the 32-byte point encoding at `bytes[offset..offset+32]` canonical?
 * RFC 8032 §5.1.3 step 1: "If the resulting value is >= p, decoding fails." — the y value is the
 * encoding with bit 255 (the x sign) cleared; y ≥ p means bytes 1..30 are all 0xff, byte 31 is
 * 0x7f (after masking) and byte 0 is ≥ 0xed (p = 0x7fff…ffed).
 * Step 4: "If x = 0, and x_0 = 1, decoding fails." — x = 0 only when y = ±1; both are small-order
 * and refused by {@link isSmallOrderEncoding}, and this check refuses their signed spelling too.
 */
export function isCanonicalEncoding (bytes: Uint8Array, offset = 0): boolean {
  if ((bytes[offset + 31]! & 0x7f) === 0x7f && bytes[offset]! >= 0xed) {
    let allFf = true
    for (let i = 1; i < 31; i++) {
      if (bytes[offset + i] !== 0xff) { allFf = false; break }
    }
    if (allFf) return false // y ≥ p
  }
  if ((bytes[offset + 31]! & 0x80) !== 0 && xIsZero(bytes, offset)) return false
  return true
}

/** x = 0 exactly when y² = 1, i.e. y = 1 or y = p − 1 (canonical y). */
function xIsZero (bytes: Uint8Array, offset: number): boolean {
  return equalsMasked(bytes, offset, SMALL_ORDER_Y[1]!) || equalsMasked(bytes, offset, SMALL_ORDER_Y[2]!)
}

/** Compares a 32-byte encoding, sign bit masked off, with a canonical y. */
function equalsMasked (bytes: Uint8Array, offset: number, y: Uint8Array): boolean {
  for (let i = 0; i < 31; i++) if (bytes[offset + i] !== y[i]) return false
  return (bytes[offset + 31]! & 0x7f) === y[31]
}

/**
 * Rules 3–4, small order: is the (canonical) encoding at `bytes[offset..offset+32]` one of the 8
 * torsion points? Tests the y-coordinate with the sign bit cleared against {@link SMALL_ORDER_Y}.
 * Meant for encodings already found canonical: a non-canonical spelling of a small-order point
 * (y + p) is not matched here but is refused by {@link isCanonicalEncoding}.
 */
export function isSmallOrderEncoding (bytes: Uint8Array, offset = 0): boolean {
  for (const y of SMALL_ORDER_Y) if (equalsMasked(bytes, offset, y)) return true
  return false
}

/**
 * Rules 1–4, the cheap part of the rule, shared by both backends: lengths, S < L, A and R
 * canonical and not of small order. True means "go on to the equation (rule 5)"; false is a final
 * reject. Never throws, whatever it is given.
 */
export function passesPrechecks (publicKey: unknown, signature: unknown): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) return false
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) return false
  if (!isScalarBelowL(signature, 32)) return false
  if (!isCanonicalEncoding(publicKey) || isSmallOrderEncoding(publicKey)) return false
  if (!isCanonicalEncoding(signature, 0) || isSmallOrderEncoding(signature, 0)) return false
  return true
}
