/** ed25519 with keyroom's consensus verification rule; see strict-rule.ts for the rule and why. */
export { verifySignature, signBytes, publicKeyFromSeed, isBackendAvailable, defaultBackend } from './ed25519.js'
export type { Ed25519Backend, Ed25519Options } from './ed25519.js'
export { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, SEED_LENGTH } from './strict-rule.js'
