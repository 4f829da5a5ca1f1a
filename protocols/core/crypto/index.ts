/**
 * Hashes and ed25519 signatures for the pure core. Uses `node:crypto` when the runtime has it
 * (looked up at run time, never imported) and @noble otherwise; results never depend on which.
 */
export { sha256, sha512 } from './hash.js'
export {
  verifySignature,
  signBytes,
  publicKeyFromSeed,
  isBackendAvailable,
  defaultBackend,
  PUBLIC_KEY_LENGTH,
  SIGNATURE_LENGTH,
  SEED_LENGTH
} from './ed25519/index.js'
export type { Ed25519Backend, Ed25519Options } from './ed25519/index.js'
