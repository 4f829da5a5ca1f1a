/**
 * keyroom.1 room logic: event builders, the keyroom authorization additions, `decide` (Matrix
 * receipt checks), MSC3917 membership verification, and scenario builders for tests and benches.
 */
export { RoomEventType, ContentField, EVENT_KEY_ID, RRK_KEY_ID, LINK_KEY_ID, MAX_MEMBERSHIP_PROOF_EVENTS } from './constants.js'
export type { EventView, RoomEvent, IdentifiedEvent, StateLookup, RoomStateView, SigningDevice, AuthOutcome } from './types.js'
export { RoomState } from './room-state.js'
export { AttestationCache, attestationInForceAt, DEFAULT_CACHE_ENTRIES } from './attestation-cache.js'
export type { AttestationCheck, RevocationCheck, AttestationCacheStats } from './attestation-cache.js'
export { eventSigner, rootKeyText } from './event-fields.js'
export type { EventSigner } from './event-fields.js'
export { authEventPairs, selectAuthEvents } from './auth-events.js'
export type { AuthEventKey, AuthSelectionInput } from './auth-events.js'
export {
  inviteLinkToken, inviteLinkPublicKeyText, inviteLinkKeys, signInviteLinkClaim, checkInviteLinkClaim, inviteLinkClaimOf
} from './invite-link.js'
export type { InviteLinkClaim, InviteLinkProblem } from './invite-link.js'
export {
  checkKeyroomAuth, deviceStanding, matchingAttestation, defaultAttestationCache
} from './keyroom-auth.js'
export type { KeyroomAuthOptions, DeviceStanding } from './keyroom-auth.js'
export {
  checkRoomAuth, keyroomMatrixOverride, keyroomAuthHooks, checkKeyroomAuthEvents, authStateOfAuthEvents, pduOf, authLookupOf
} from './room-auth.js'
export type { SignedPdu, RoomAuthOptions } from './room-auth.js'
export { decide, passesInState } from './decide.js'
export { checkDagRules, checkCreateDagRules, expectedDepth } from './dag-rules.js'
export type { DagPrevEvent } from './dag-rules.js'
export type { Decision, DecideContext, StateCheckContext } from './decide.js'
export {
  buildEvent, signingDeviceId, causeOfMembership, buildCreateRoom, buildInvite, buildJoin, buildLeave, buildKick, buildBan,
  buildUnban, membershipProof, buildPowerLevels, buildJoinRules, buildName, buildTopic, buildInviteLink,
  buildRevokeInviteLink, buildDeviceAttestation, buildDeviceRevocation, buildSpaceChild, buildMessage, buildRedaction,
  RoomTimeline, DEFAULT_POWER_LEVELS
} from './builders.js'
export type { RoomContext, BuildOptions, EventDraft, CreateRoomInput, CreatedRoom, JoinVia } from './builders.js'
export { MembershipVerifier, DEFAULT_SLICE_EVENTS } from './membership-verifier.js'
export type {
  MembershipVerifierOptions, MemberVerification, EventVerification, VerificationFailure, VerificationSuccess,
  VerificationStep, UnverifiedReason, VerificationBasis, StepOptions, VerifierStats
} from './membership-verifier.js'
export { scenarioSeed, scenarioUser, buildVerifiedRoom } from './scenarios.js'
export type { ScenarioUser, ScenarioUserOptions, ScenarioRoom, VerifiedRoomOptions } from './scenarios.js'
