/**
 * @packageDocumentation
 *
 * `/keyroom/hello/1.0.0` — "which user is this device?" on connect.
 *
 * A PeerId is a device key (UDK); a Noise handshake proves the remote holds it. What the handshake
 * cannot say is which user (UPK) the device belongs to. Hello answers with the device's
 * attestation — the UPK's signature over the UDK, counter-signed by the UDK — so the asker learns
 * the user behind a connected device, checked locally: the attestation must verify and name the
 * very UDK the connection authenticated. The node uses it to deliver invites to the invitee's
 * devices and to decide who may read a room by sync. (The DHT identity directory answers the same
 * question for devices that are not connected.)
 *
 * Wire: the client opens a stream and closes its write side at once; the server writes one frame —
 * varint length ‖ canonical JSON `{"attestation":{…}}` (at most 8 KiB) — and closes. Frames are the
 * sync protocol's (`docs/wire.md`).
 */
import { HelloService } from './hello.js'
import type { StreamServiceComponents } from '../sync/index.js'
import type { AbortOptions, DialTarget } from '@libp2p/interface'

export * from './constants.js'

/** The hello protocol: a server for this device and a client for others. */
export interface Hello {
  /** The protocol ID served. */
  readonly protocol: string
  /**
   * The peer's statement (its attestation JSON, unverified: the caller checks it against the
   * peer's PeerId). Throws `ERR_PEER_BAD_MESSAGE` for a malformed, oversized or late answer.
   */
  hello(peer: DialTarget, options?: AbortOptions): Promise<unknown>
}

/** The libp2p components the service uses (the smallest set). */
export type HelloComponents = StreamServiceComponents

/** The port (required) and tunables (optional; defaults in `constants.ts`). */
export interface HelloInit {
  /** This device's statement: its attestation by its user (a JSON value). */
  statement: () => unknown
  /** Inbound stream time bound, ms (default `HELLO_INBOUND_TIMEOUT_MS`). */
  inboundTimeout?: number
  /** Outbound request time bound, ms (default `HELLO_OUTBOUND_TIMEOUT_MS`). */
  outboundTimeout?: number
}

/** The service factory, for `services: { hello: hello(init) }` (or composed by hand, as the node does). */
export function hello (init: HelloInit): (components: HelloComponents) => Hello & { start(): Promise<void>, stop(): Promise<void> } {
  return (components) => new HelloService(components, init)
}
