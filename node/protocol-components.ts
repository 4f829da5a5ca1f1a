/**
 * The libp2p components keyroom's hand-wired protocols (hello, invite) need, from a running node.
 *
 * Those two services are composed after `createKeyroomLibp2p` (which fixes its service map) and
 * started and stopped by the node; they reach the registrar and the dialer through the node's own
 * `handle` / `unhandle` / `dialProtocol`.
 */
import type { KeyroomLibp2p } from './libp2p.js'
import type { HelloComponents } from '../protocols/hello/index.js'
import type { InviteComponents } from '../protocols/invite/index.js'
import type { ComponentLogger } from '@libp2p/interface'

/** Registrar, dialer and logger of `libp2p`, in the shape the hello and invite services take. */
export function protocolComponents (libp2p: KeyroomLibp2p, logger: ComponentLogger): HelloComponents & InviteComponents {
  return {
    registrar: {
      handle: async (...args: Parameters<KeyroomLibp2p['handle']>) => { await libp2p.handle(...args) },
      unhandle: async (...args: Parameters<KeyroomLibp2p['unhandle']>) => { await libp2p.unhandle(...args) }
    },
    connectionManager: { openStream: async (...args: Parameters<KeyroomLibp2p['dialProtocol']>) => await libp2p.dialProtocol(...args) },
    logger
  }
}
