/**
 * Matrix signed JSON and every signed/hashed byte string of the room protocol (signables.ts).
 */
export { signJson, verifyJson, signatureBytesAt, keyIdAlgorithm, SIGNING_ALGORITHM } from './signed-json.js'
export { signedJsonBytes, contentHashBytes, redactedEventBytes, eventSignables } from './signables.js'
export type { EventSignables } from './signables.js'
