/**
 * Named errors with stable codes.
 *
 * Outcomes (a rejected event, a bad signature) are values; these are for misuse and corruption:
 * input that cannot be represented, a malformed key, a corrupt keystore. Tests and callers match on
 * `code`, never on the message.
 */
export class KeyroomError extends Error {
  /** Stable, machine-readable code, e.g. `ERR_INVALID_JSON`. */
  readonly code: string
  /** A short suggestion for the user, shown by the CLI after the message. */
  readonly hint?: string

  constructor (code: string, message: string, options: { hint?: string, cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'KeyroomError'
    this.code = code
    if (options.hint !== undefined) this.hint = options.hint
  }
}

/** Every code that keyroom throws, in one place so the set stays stable. */
export const ErrorCode = {
  /** Received JSON text that the strict parser refuses (floats, -0, big integers, bad UTF-8, duplicates). */
  InvalidJson: 'ERR_INVALID_JSON',
  /** A value that Matrix canonical JSON cannot represent (floats, undefined, cycles, big integers). */
  NotCanonicalizable: 'ERR_NOT_CANONICALIZABLE',
  /** A key, ID or URI in the wrong text form. */
  InvalidKey: 'ERR_INVALID_KEY',
  /** Base64 that is not the expected (unpadded, standard or URL-safe) form. */
  InvalidBase64: 'ERR_INVALID_BASE64',
  /** A room version this code does not know. */
  UnknownRoomVersion: 'ERR_UNKNOWN_ROOM_VERSION',
  /** A structure (event, attestation, record) missing required fields or of the wrong shape. */
  InvalidEvent: 'ERR_INVALID_EVENT',
  /** Seed or key bytes of the wrong length. */
  InvalidKeyMaterial: 'ERR_INVALID_KEY_MATERIAL',
  /** A recovery phrase that is not a valid BIP39 mnemonic. */
  InvalidRecoveryPhrase: 'ERR_INVALID_RECOVERY_PHRASE',
  /** Keystore decryption failed: wrong passphrase. */
  WrongPassphrase: 'ERR_WRONG_PASSPHRASE',
  /** Keystore needs a passphrase that was not given. */
  PassphraseRequired: 'ERR_PASSPHRASE_REQUIRED',
  /** Keystore file is unreadable, truncated or not a keystore. */
  CorruptKeystore: 'ERR_CORRUPT_KEYSTORE',
  /** An identity already exists where a new one was to be created. */
  IdentityExists: 'ERR_IDENTITY_EXISTS',
  /** No identity in the data directory. */
  NoIdentity: 'ERR_NO_IDENTITY',
  /** An ed25519 backend that is not available in this runtime. */
  BackendUnavailable: 'ERR_BACKEND_UNAVAILABLE',
  /** The room store read back bytes it cannot decode (bad checksum, truncated record, wrong hash). */
  CorruptStore: 'ERR_CORRUPT_STORE',
  /** The store's directory is locked by another live process (or another open store in this one). */
  StoreLocked: 'ERR_STORE_LOCKED',
  /** The store was used after `close()`. */
  StoreClosed: 'ERR_STORE_CLOSED',
  /** A store write the store refuses: bad depth, ill-formed string, state base not stored. */
  InvalidStoreWrite: 'ERR_INVALID_STORE_WRITE',
  /** A service method was called while the service is stopped (or it stopped while the call waited). */
  NotStarted: 'ERR_NOT_STARTED',
  /** Gossip: an event larger than the gossip size limit was given to publish. */
  GossipMessageTooLarge: 'ERR_GOSSIP_MESSAGE_TOO_LARGE',
  /** Gossip: the pubsub router refused or failed a publish for a reason other than "no peers"/"duplicate". */
  GossipPublishFailed: 'ERR_GOSSIP_PUBLISH_FAILED',
  /** Sync: a request frame exceeded the request size limit. */
  SyncRequestTooLarge: 'ERR_SYNC_REQUEST_TOO_LARGE',
  /** Sync: a request named more IDs than one request may carry. */
  SyncTooManyIds: 'ERR_SYNC_TOO_MANY_IDS',
  /** Sync: a response exceeded a size bound (frame, event, total bytes or item count). */
  SyncResponseTooLarge: 'ERR_SYNC_RESPONSE_TOO_LARGE',
  /** Sync: a stream did not complete within its time bound. */
  SyncTimeout: 'ERR_SYNC_TIMEOUT',
  /** Sync: the remote refused the request because too many requests are in flight. */
  SyncBusy: 'ERR_SYNC_BUSY',
  /** Sync: the remote does not have (or will not share) the room or event asked for. */
  SyncNotFound: 'ERR_SYNC_NOT_FOUND',
  /** Sync: a frame or message that does not follow the wire format (either direction). */
  SyncBadMessage: 'ERR_SYNC_BAD_MESSAGE',
  /** Sync: the remote failed with an internal error while serving the request. */
  SyncRemoteError: 'ERR_SYNC_REMOTE_ERROR',
  /** State resolution asked for a room version whose algorithm is not implemented (v1: state resolution v1). */
  UnsupportedStateResolution: 'ERR_UNSUPPORTED_STATE_RESOLUTION',
  /** Identity directory: a DHT record under a `/keyroom/…` key that the validator refuses (shape, key, signatures, size). */
  DhtInvalidRecord: 'ERR_DHT_INVALID_RECORD',
  /** Identity directory: a user record older (lower `seq`) than one already accepted for the same user. */
  DhtStaleRecord: 'ERR_DHT_STALE_RECORD',
  /** Node: the room is not known to this node (never joined, invited or created here). */
  UnknownRoom: 'ERR_UNKNOWN_ROOM',
  /** Node: the room's rules do not allow this user to do that now (e.g. send without being joined, invite without the power). */
  Forbidden: 'ERR_FORBIDDEN',
  /** Node: no peer could be reached that would share the room (join, catch-up). */
  RoomUnreachable: 'ERR_ROOM_UNREACHABLE',
  /** Hello / invite protocols: a peer sent a malformed or oversized message. */
  PeerBadMessage: 'ERR_PEER_BAD_MESSAGE',
  /** Invite protocol: the invitee's device refused the invite (with the reason it gave). */
  InviteRefused: 'ERR_INVITE_REFUSED',
  /** A feature this node does not support yet (e.g. `keyroom device link`); the CLI exits with its own code. */
  NotSupported: 'ERR_NOT_SUPPORTED',
  /** CLI: no node is running for the data directory (its control socket does not answer). */
  NoRunningNode: 'ERR_NO_RUNNING_NODE',
  /** CLI: a node is already running for the data directory (its control socket answers). */
  NodeRunning: 'ERR_NODE_RUNNING',
  /** Control socket: a request that is not JSON, or not of the documented shape (docs/cli.md). */
  ControlBadRequest: 'ERR_CONTROL_BAD_REQUEST',
  /** Control socket: a request line longer than the bound (the connection is closed). */
  ControlRequestTooLarge: 'ERR_CONTROL_REQUEST_TOO_LARGE',
  /** Node: the action needs the user's key (UPK) and this device does not hold it (link, revoke from a device that does). */
  NoUserKey: 'ERR_NO_USER_KEY',
  /** Device link: the device refused the offered attestation (wrong or used link code, another user's offer), with its reason. */
  LinkRefused: 'ERR_LINK_REFUSED',
  /** Device link / renewal: the device could not be reached (at the link's addresses, or by its PeerId). */
  DeviceUnreachable: 'ERR_DEVICE_UNREACHABLE'
} as const

export type ErrorCodeValue = typeof ErrorCode[keyof typeof ErrorCode]
