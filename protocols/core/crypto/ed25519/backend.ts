/**
 * What an ed25519 backend provides. The accept/reject rule is not in here: the caller applies the
 * shared pre-checks (strict-rule.ts, rules 1–4) before `verifyEquation`, so a backend only decodes
 * A and checks the cofactorless equation (rule 5).
 */
export interface Ed25519Implementation {
  /**
   * Rule 5 on inputs that passed rules 1–4 (exact lengths, S < L, A and R canonical and not of
   * small order): decode A (false if off the curve) and check encode([S]B − [k]A) = R,
   * k = SHA-512(R ‖ A ‖ M) mod L. Never throws.
   */
  verifyEquation: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean
  /** RFC 8032 §5.1.6 signature (64 bytes) by the key of a 32-byte seed. */
  sign: (seed: Uint8Array, message: Uint8Array) => Uint8Array
  /** RFC 8032 §5.1.5 public key (32 bytes) of a 32-byte seed. */
  publicKey: (seed: Uint8Array) => Uint8Array
}
