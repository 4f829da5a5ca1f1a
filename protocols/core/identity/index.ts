/**
 * Portable identity (MSC2787 as DESIGN §1 adapts it): key text forms and `keyroom:` URIs, key
 * pairs, attestations and revocations, the recovery phrase and sealed key blobs. Pure: seeds,
 * salts, nonces and times are parameters.
 */
export {
  formatUserId, parseUserId, formatDeviceId, parseDeviceId, formatRoomId, parseRoomId,
  isUserId, isDeviceId, isRoomId,
  KEY_VERSION_ED25519, USER_ID_SIGIL, DEVICE_ID_SIGIL, ROOM_ID_SIGIL
} from './text-forms.js'
export type { UserId, DeviceId, RoomId } from './text-forms.js'
export { formatUserUri, formatRoomUri, parseKeyroomUri, KEYROOM_URI_SCHEME } from './uri.js'
export type { KeyroomUri } from './uri.js'
export { keyPairFromSeed, userKeyPair, deviceKeyPair, roomKeyPair } from './key-pair.js'
export type { KeyPair } from './key-pair.js'
export { createAttestation, parseAttestation, verifyAttestation } from './attestation.js'
export type { Attestation, AttestationJson, AttestationVerdict, CreateAttestationInput } from './attestation.js'
export { createRevocation, parseRevocation, verifyRevocation, MAX_REVOCATION_REASON_LENGTH } from './revocation.js'
export type { Revocation, RevocationJson, RevocationVerdict, CreateRevocationInput } from './revocation.js'
export { IDENTITY_KEY_ID } from './statement.js'
export type { Parsed, SignatureMap } from './statement.js'
export { attestationBody, revocationBody, attestationSignedBytes, revocationSignedBytes } from './signables.js'
export type { AttestationBody, RevocationBody } from './signables.js'
export { seedToRecoveryPhrase, recoveryPhraseToSeed, normaliseRecoveryPhrase, RECOVERY_PHRASE_WORDS } from './recovery-phrase.js'
export {
  sealSecret, openSecret, sealedParams, SCRYPT_DEFAULTS, SEAL_SALT_LENGTH, SEAL_NONCE_LENGTH
} from './sealed-secret.js'
export type { ScryptParams, SealInput } from './sealed-secret.js'
