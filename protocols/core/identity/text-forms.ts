/**
 * Text forms of keyroom's keys (DESIGN §1, MSC2787 "UPK Format").
 *
 * MSC2787: "The UDK is prefixed with a version byte, then URL-safe base64-encoded, and then
 * prefixed with the `~` sigil. The version byte for ed25519 is `0x01`." keyroom reads that as:
 *
 * - user ID (UPK):   `~` + unpadded URL-safe base64 of (`0x01` ‖ 32-byte ed25519 public key)
 * - device ID (UDK): `^` + the same encoding (the sigil the MSC review suggests for UDKs)
 * - room ID (RRK):   `!` + unpadded URL-safe base64 of the 32-byte key — no version byte, as in
 *   MSC3917 ("the room ID is the room root key").
 *
 * 33 bytes encode to exactly 44 base64 characters and 32 bytes to 43, so every valid ID has one
 * fixed length. Parsing is strict and never repairs input: a wrong sigil, length, version byte,
 * alphabet, padding or any whitespace is an `ERR_INVALID_KEY` that says what was expected. The
 * base64 decoder also refuses non-zero trailing bits, so each key has exactly one text form —
 * IDs can be compared as strings.
 *
 * Whether the 32 bytes are a valid ed25519 point is not checked here: that is a signature-time
 * question, and a key that is not a point simply never verifies anything.
 */
import { fromBase64Url, toBase64Url } from '../encoding/base64.js'
import { ErrorCode, KeyroomError } from '../errors.js'

/** Length of an ed25519 public key in bytes. */
export const PUBLIC_KEY_LENGTH = 32

/**
 * Key-version byte for ed25519 (MSC2787 "UPK Format"). The only version defined; any other byte
 * is refused as unknown rather than guessed at, so a future key type cannot be misread as ed25519.
 */
export const KEY_VERSION_ED25519 = 0x01

/** Sigil of a user ID (the UPK). */
export const USER_ID_SIGIL = '~'
/** Sigil of a device ID (a UDK). */
export const DEVICE_ID_SIGIL = '^'
/** Sigil of a room ID (the RRK). */
export const ROOM_ID_SIGIL = '!'

/** Length of a user or device ID: sigil + 44 base64 characters (33 bytes). */
export const VERSIONED_KEY_ID_LENGTH = 1 + 44
/** Length of a room ID: sigil + 43 base64 characters (32 bytes). */
export const ROOM_ID_LENGTH = 1 + 43

/** A user ID (`~…`). A plain string alias: the form is checked by {@link parseUserId}. */
export type UserId = string
/** A device ID (`^…`). */
export type DeviceId = string
/** A room ID (`!…`). */
export type RoomId = string

interface VersionedForm {
  sigil: string
  what: string
}

const USER: VersionedForm = { sigil: USER_ID_SIGIL, what: 'user ID' }
const DEVICE: VersionedForm = { sigil: DEVICE_ID_SIGIL, what: 'device ID' }

/** Shows a bad input in an error message without dumping arbitrary amounts of it. */
export function describeInput (text: unknown): string {
  if (typeof text !== 'string') return text === null ? 'null' : typeof text
  if (text.length === 0) return 'an empty string'
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text
  return JSON.stringify(shown)
}

function checkPublicKey (key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== PUBLIC_KEY_LENGTH) {
    throw new KeyroomError(ErrorCode.InvalidKeyMaterial,
      `cannot format a ${what}: expected a ${PUBLIC_KEY_LENGTH}-byte ed25519 public key`)
  }
}

function formatVersioned (key: Uint8Array, form: VersionedForm): string {
  checkPublicKey(key, form.what)
  const bytes = new Uint8Array(1 + PUBLIC_KEY_LENGTH)
  bytes[0] = KEY_VERSION_ED25519
  bytes.set(key, 1)
  return form.sigil + toBase64Url(bytes)
}

function invalid (form: { sigil: string, what: string }, expected: string, text: unknown, problem: string): KeyroomError {
  return new KeyroomError(ErrorCode.InvalidKey,
    `invalid ${form.what} ${describeInput(text)}: ${problem}; expected ${expected}`)
}

function decodeBody (text: string, form: { sigil: string, what: string }, expected: string, length: number): Uint8Array {
  if (/\s/u.test(text)) throw invalid(form, expected, text, 'it contains whitespace')
  if (text[0] !== form.sigil) {
    throw invalid(form, expected, text, `it does not start with '${form.sigil}'`)
  }
  if (text.includes('=')) throw invalid(form, expected, text, 'it has base64 padding')
  if (text.length !== length) {
    throw invalid(form, expected, text, `it is ${text.length} characters long, not ${length}`)
  }
  try {
    return fromBase64Url(text.slice(1))
  } catch (cause) {
    throw new KeyroomError(ErrorCode.InvalidKey,
      `invalid ${form.what} ${describeInput(text)}: not unpadded URL-safe base64; expected ${expected}`, { cause })
  }
}

function parseVersioned (text: unknown, form: VersionedForm): Uint8Array {
  const expected = `'${form.sigil}' followed by 44 unpadded URL-safe base64 characters ` +
    '(version byte 0x01 and a 32-byte ed25519 key)'
  if (typeof text !== 'string') throw invalid(form, expected, text, 'not a string')
  const bytes = decodeBody(text, form, expected, VERSIONED_KEY_ID_LENGTH)
  const version = bytes[0]!
  if (version !== KEY_VERSION_ED25519) {
    throw invalid(form, expected, text,
      `unknown key version 0x${version.toString(16).padStart(2, '0')} (only 0x01, ed25519, is defined)`)
  }
  return bytes.slice(1)
}

/** Formats a UPK (32-byte ed25519 public key) as a user ID `~…`. */
export function formatUserId (key: Uint8Array): UserId {
  return formatVersioned(key, USER)
}

/** Parses a user ID `~…` into its 32-byte UPK; throws `ERR_INVALID_KEY` on any other form. */
export function parseUserId (text: unknown): Uint8Array {
  return parseVersioned(text, USER)
}

/** Formats a UDK (32-byte ed25519 public key) as a device ID `^…`. */
export function formatDeviceId (key: Uint8Array): DeviceId {
  return formatVersioned(key, DEVICE)
}

/** Parses a device ID `^…` into its 32-byte UDK; throws `ERR_INVALID_KEY` on any other form. */
export function parseDeviceId (text: unknown): Uint8Array {
  return parseVersioned(text, DEVICE)
}

/** Formats an RRK (32-byte ed25519 public key) as a room ID `!…` (MSC3917: the room ID is the key). */
export function formatRoomId (key: Uint8Array): RoomId {
  checkPublicKey(key, 'room ID')
  return ROOM_ID_SIGIL + toBase64Url(key)
}

/** Parses a room ID `!…` into its 32-byte RRK; throws `ERR_INVALID_KEY` on any other form. */
export function parseRoomId (text: unknown): Uint8Array {
  const form = { sigil: ROOM_ID_SIGIL, what: 'room ID' }
  const expected = "'!' followed by 43 unpadded URL-safe base64 characters (a 32-byte ed25519 key)"
  if (typeof text !== 'string') throw invalid(form, expected, text, 'not a string')
  return decodeBody(text, form, expected, ROOM_ID_LENGTH)
}

/** True when `text` is a well-formed user ID. */
export function isUserId (text: unknown): text is UserId {
  return succeeds(() => parseUserId(text))
}

/** True when `text` is a well-formed device ID. */
export function isDeviceId (text: unknown): text is DeviceId {
  return succeeds(() => parseDeviceId(text))
}

/** True when `text` is a well-formed room ID. */
export function isRoomId (text: unknown): text is RoomId {
  return succeeds(() => parseRoomId(text))
}

function succeeds (fn: () => unknown): boolean {
  try {
    fn()
    return true
  } catch (err) {
    if (err instanceof KeyroomError && err.code === ErrorCode.InvalidKey) return false
    throw err
  }
}
