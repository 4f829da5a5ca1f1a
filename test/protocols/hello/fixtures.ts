/**
 * The libp2p components a node hands its hand-wired protocols (hello, invite), for tests.
 */
import { defaultLogger } from '@libp2p/logger'
import { protocolComponents } from '../../../node/protocol-components.js'
import type { KeyroomLibp2p } from '../../../node/libp2p.js'
import type { HelloComponents } from '../../../protocols/hello/index.js'

export function componentsOf (node: KeyroomLibp2p): HelloComponents {
  return protocolComponents(node, defaultLogger())
}
