/**
 * A bench-side workaround, applied to every keyroom node the network benchmarks start, and
 * printed whenever it is applied.
 *
 * The node registers `@libp2p/ping` with its default limit of one outbound ping stream per
 * connection. libp2p's connection monitor pings every connection every 10 s on that protocol, and
 * kad-dht pings each new routing-table contact on it too; when the two overlap on one connection
 * the monitor's `newStream` fails (`TooManyOutboundProtocolStreamsError … 2/1`), and the monitor
 * then *aborts the connection* ("aborting connection due to ping failure"). On a 20-node loopback
 * mesh that drops dozens of connections ten seconds after start-up, and gossipsub comes back on
 * some re-dialled connections without its streams (the peer is connected but not a topic
 * subscriber), so a benchmark could not even finish its setup.
 *
 * The fix belongs in the node (`ping({ maxOutboundStreams: … })` in node/libp2p.ts, or
 * `connectionMonitor: { abortConnectionOnPingFailure: false }`); until then the bench raises the
 * limit through libp2p's registrar, only when it is below {@link PING_OUTBOUND_STREAMS}.
 */
import type { Libp2p, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'

/** The part of libp2p's (internal) registrar used here. */
interface RegistrarLike {
  getHandler(protocol: string): { handler: StreamHandler, options: StreamHandlerOptions }
  handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
}

/** The ping protocol libp2p's connection monitor and kad-dht both use. */
export const PING_PROTOCOL = '/ipfs/ping/1.0.0'

/** Outbound ping streams per connection the bench allows (monitor + kad-dht + one spare). */
export const PING_OUTBOUND_STREAMS = 4

/**
 * Raise the node's outbound ping stream limit to {@link PING_OUTBOUND_STREAMS} when it is lower.
 * Returns the limit found (undefined: no ping handler, or libp2p's registrar is not reachable), so
 * the caller can say whether the workaround was needed.
 */
export async function raisePingStreamLimit (libp2p: Libp2p): Promise<number | undefined> {
  const registrar = (libp2p as unknown as { components?: { registrar?: RegistrarLike } }).components?.registrar
  if (registrar === undefined || typeof registrar.getHandler !== 'function') return undefined
  let record: ReturnType<RegistrarLike['getHandler']>
  try {
    record = registrar.getHandler(PING_PROTOCOL)
  } catch {
    return undefined
  }
  const found = record.options.maxOutboundStreams ?? 1
  if (found < PING_OUTBOUND_STREAMS) {
    await registrar.handle(PING_PROTOCOL, record.handler, { ...record.options, maxOutboundStreams: PING_OUTBOUND_STREAMS, force: true })
  }
  return found
}
