/**
 * Events: redaction (room versions 1–12 and keyroom.1), content hashes, reference hashes and
 * event IDs, event signing, and the ingest integrity check.
 */
export { redactEvent, MSC3917_PROTECTED_CONTENT_KEYS } from './redaction.js'
export { MAX_PDU_BYTES } from './limits.js'
export { contentHash, referenceHash, eventIdFor, eventIdFromReferenceHash } from './hashes.js'
export { signEvent, signEventWithId } from './sign-event.js'
export type { SignedEvent } from './sign-event.js'
export { checkEventIntegrity } from './integrity.js'
export type { IntegrityResult, IntegrityFailureReason, IntegrityOptions } from './integrity.js'
