/**
 * A device waiting to be linked (DESIGN §1 "Linking a second device"): it has a device key of its
 * own and nothing else — no user, no attestation, no rooms. It runs a small libp2p host with that
 * key (PeerId = UDK) that serves one protocol, `/keyroom/link/1.0.0`, shows its link text, and
 * waits for a device holding the user's UPK to offer it an attestation with the link's code. It
 * then counter-signs the attestation (proof of possession), checks both signatures, writes its
 * keystore (the store's format; see device-keystore.ts), answers with the complete attestation and
 * stops: `createNode` goes on to start the full node on the same data directory, which dials the
 * linking device back and fetches the user's rooms from it.
 */
import { timingSafeEqual } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { defaultLogger, prefixLogger } from '@libp2p/logger'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { ErrorCode, IDENTITY_KEY_ID, KeyroomError, signJson, verifyAttestation } from '../protocols/core/index.js'
import { deviceProtocols } from '../protocols/devices/index.js'
import { DEFAULT_LISTEN } from './constants.js'
import { completePendingDevice, loadOrCreatePendingDevice } from './device-keystore.js'
import { deviceKeyFromSeed } from './libp2p.js'
import { formatLinkText } from './link-text.js'
import type { AttestationJson } from '../protocols/core/index.js'
import type { LinkOffer, LinkVerdict } from '../protocols/devices/index.js'

/** What a waiting device shows: put `text` in a QR code, or let the user copy it. */
export interface LinkRequest {
  /** `keyroom:link/^…?code=…&via=…`: what `linkDevice` on a device holding the UPK takes. */
  readonly text: string
  /** The waiting device's ID (its UDK, `^…`). */
  readonly deviceId: string
  /** Where the waiting device listens (with `/p2p/<peerId>`). */
  readonly multiaddrs: readonly string[]
}

/** `createNode({ link })`: wait to be linked when the data directory has no identity yet. */
export interface LinkOptions {
  /** Called once the device listens, with the link to show (again on every start until it is linked). */
  onRequest: (request: LinkRequest) => void
  /** Give up waiting (`createNode` then rejects with the signal's reason; the same link works next time). */
  signal?: AbortSignal
}

/** The outcome of a completed link: who linked the device and where it listens. */
export interface CompletedLink {
  attestation: AttestationJson
  /** The linking device's addresses (from its offer), to dial back. */
  via: string[]
}

/** What the waiting host needs from `createNode`'s options. */
export interface WaitForLinkInit {
  dataDir: string
  link: LinkOptions
  listen?: string[]
  announce?: string[]
  passphrase?: string
  loggerPrefix?: string
  now: () => number
}

function sameText (a: string, b: string): boolean {
  const x = new TextEncoder().encode(a)
  const y = new TextEncoder().encode(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Runs the waiting host until a device links this one (or `link.signal` aborts), and leaves a
 * keystore in `dataDir`. Only the first offer with the right code is taken.
 */
export async function waitForLink (init: WaitForLinkInit): Promise<CompletedLink> {
  const pending = await loadOrCreatePendingDevice(init.dataDir, init.passphrase === undefined ? {} : { passphrase: init.passphrase })
  const logger = init.loggerPrefix === undefined ? defaultLogger() : prefixLogger(init.loggerPrefix)
  const log = logger.forComponent('keyroom:node:link')
  init.link.signal?.throwIfAborted()
  const host = await createLibp2p({
    privateKey: await deviceKeyFromSeed(pending.udkSeed),
    logger,
    addresses: { listen: [...(init.listen ?? DEFAULT_LISTEN)], ...(init.announce === undefined ? {} : { announce: init.announce }) },
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  const done = Promise.withResolvers<CompletedLink>()
  let taken = false
  const onOffer = async (offer: LinkOffer): Promise<LinkVerdict> => {
    if (taken) return { ok: false, problem: 'refused', reason: 'this device is being linked already' }
    if (offer.code === undefined || !sameText(offer.code, pending.code)) return { ok: false, problem: 'refused', reason: 'wrong link code' }
    let full: unknown
    try {
      // The counter-signature: this device's proof that it holds the key the attestation names.
      full = signJson(offer.attestation, pending.deviceId, IDENTITY_KEY_ID, pending.udkSeed)
    } catch (err) {
      return { ok: false, problem: 'malformed', reason: err instanceof Error ? err.message : String(err) }
    }
    const verdict = verifyAttestation(full, { now: init.now() })
    if (verdict.status !== 'valid') return { ok: false, problem: verdict.status === 'malformed' ? 'malformed' : 'refused', reason: `the attestation is ${verdict.status}` }
    if (verdict.attestation.udk !== pending.deviceId) return { ok: false, problem: 'refused', reason: 'the attestation is for another device' }
    taken = true
    try {
      await completePendingDevice(init.dataDir, pending, verdict.attestation.json, init.passphrase === undefined ? {} : { passphrase: init.passphrase })
    } catch (err) {
      taken = false
      log.error('writing the keystore failed - %e', err)
      return { ok: false, problem: 'refused', reason: 'the device could not store its attestation' }
    }
    log('linked to %s', verdict.attestation.upk)
    const completed: CompletedLink = { attestation: verdict.attestation.json, via: offer.via }
    return { ok: true, attestation: verdict.attestation.json, after: () => { done.resolve(completed) } }
  }
  const service = deviceProtocols({ onOffer })({
    registrar: {
      handle: async (...args: Parameters<typeof host.handle>) => { await host.handle(...args) },
      unhandle: async (...args: Parameters<typeof host.unhandle>) => { await host.unhandle(...args) }
    },
    connectionManager: { openStream: async (...args: Parameters<typeof host.dialProtocol>) => await host.dialProtocol(...args) },
    logger
  })
  const onAbort = (): void => { done.reject(init.link.signal?.reason ?? new KeyroomError(ErrorCode.NotStarted, 'linking was cancelled')) }
  init.link.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await service.start()
    const multiaddrs = host.getMultiaddrs().map(ma => ma.toString())
    init.link.onRequest({ text: formatLinkText({ deviceId: pending.deviceId, code: pending.code, via: multiaddrs }), deviceId: pending.deviceId, multiaddrs })
    return await done.promise
  } finally {
    init.link.signal?.removeEventListener('abort', onAbort)
    await service.stop().catch(() => {})
    await host.stop()
  }
}
