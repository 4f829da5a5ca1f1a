/**
 * The store: LevelDB (or memory) behind the small `RoomStore` contract, plus libp2p's datastore
 * in the same database. Never imports `protocols/<wire>` or `node/`.
 */
export type {
  Decision, DecisionKind, EventPosition, EventWrite, Membership, MetaKey, RoomEventEntry, RoomEventsQuery, RoomMeta,
  RoomStore, StateReadOptions, StateUpdate, StoreInit, StoredEvent, WriteResult
} from './contract.js'
export { createMemoryStore, MemoryKv } from './memory.js'
export type { MemoryStoreInit } from './memory.js'
export { openLevelStore } from './level.js'
export { metaKey } from './meta-key.js'
export { KvDatastore } from './datastore.js'
// The keystore (owned with store/keystore*.ts), re-exported so other folders reach it here.
export {
  createIdentity, hasIdentity, keystorePath, loadIdentity, DATA_DIR_MODE, KEYSTORE_FILE_NAME, KEYSTORE_FORMAT_VERSION
} from './keystore.js'
export type { CreateIdentityOptions, CreatedIdentity, LoadedIdentity } from './keystore.js'
