/**
 * Matrix authorization rules (room versions 1–12 and keyroom.1), pure.
 *
 * A node checks a received event with:
 * 1. `checkAuthEvents(rules, event, source)` — the rules about the `auth_events` list;
 * 2. `checkAuth(rules, event, authStateFromAuthEvents(rules, event, source))` — against its auth
 *    events (failure: reject);
 * 3. `checkAuth(rules, event, stateBefore)` — against the state before the event (reject);
 * 4. `checkAuth(rules, event, currentState)` — against the current state (soft fail).
 * State resolution (`../state-res`) runs `checkAuth` in its iterative auth checks.
 */
export { checkAuth } from './check-auth.js'
export {
  checkAuthEvents, authStateFromAuthEvents, authTypesForEvent, signingDeviceOf, createEventIdForRoom, EventType
} from './auth-events.js'
export type { AuthEventSource, StateKeyPair } from './auth-events.js'
export { parsePdu, isJsonObject, getOwn } from './pdu.js'
export type { PduLike, ParsePduResult, JsonObject } from './pdu.js'
export {
  parsePowerLevels, parseLevel, userLevel, fieldLevel, requiredLevel, creatorsOf,
  INT_FIELDS, DEFAULT_LEVELS, CREATOR_DEFAULT_LEVEL
} from './power-levels.js'
export type { PowerLevelsContent, LevelMap, Creators, IntField } from './power-levels.js'
export { ruleNumbers } from './rule-numbers.js'
export type { RuleNumbers } from './rule-numbers.js'
export { verifyThirdPartyInviteSigned, thirdPartyInvitePublicKeys } from './third-party-invite.js'
export { domainOf, isValidUserId } from './user-id.js'
export type { AuthResult, AuthStateLookup, AuthHooks } from './types.js'
