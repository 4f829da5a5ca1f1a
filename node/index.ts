/**
 * The keyroom package root: the embedding API (`createNode` and its types) and the pure room
 * protocol. See docs/api.md.
 */
export * from '../protocols/core/index.js'
export { createNode } from './create-node.js'
export type {
  CreateNodeOptions, CreateRoomOptions, KeyroomNode, LinkDeviceOptions, LinkedDevice, MessageContent, MessagesOptions, OwnDevice,
  PeerSummary, RevokeDeviceOptions, RevokedDeviceResult, RoomSummary, UserDevice, UserLookup
} from './create-node.js'
export type { LinkOptions, LinkRequest } from './link-request.js'
export { TypedEventTarget } from './node-events.js'
export type { KeyroomNodeEvents, KeyroomNodeListener, ListenerOptions, MembershipChange, RoomMessage, SyncProgress } from './node-events.js'
export type { RoomMember } from './room-engine.js'
export type { DeviceDirectory, DirectoryDevice } from './peer-directory.js'
export type { Membership } from '../store/index.js'
export { STORE_DIR_NAME } from './constants.js'
