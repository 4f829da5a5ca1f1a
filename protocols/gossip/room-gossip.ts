/**
 * The room gossip service: topic validator and delivery on the way in, queued and paced publishing
 * on the way out.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { ErrorCode, KeyroomError } from '../core/index.js'
import {
  DRAIN_TIMEOUT_MS, MAX_EVENT_BYTES, MAX_QUEUED_PUBLISHES, PEER_POLL_INTERVAL_MS, VALIDATE_TIMEOUT_MS,
  WAIT_FOR_PEERS_TIMEOUT_MS
} from './constants.js'
import { SerialQueue } from './publish-queue.js'
import { routerInternals } from './router-internals.js'
import { ROOM_TOPIC_SCORE_PARAMS } from './score-params.js'
import { roomTopic } from './topic.js'
import type { PublishOptions, PublishOutcome, RoomGossip, RoomGossipComponents, RoomGossipInit } from './index.js'
import type { GossipVerdict } from './ports.js'
import type { RouterInternals } from './router-internals.js'
import type { RoomTopicScoreParams } from './score-params.js'
import type { GossipsubMessage, Message, TopicValidatorFn } from '@libp2p/gossipsub'
import type { Logger, PeerId, Startable } from '@libp2p/interface'

const VERDICTS: Record<GossipVerdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject
}

/** The {@link RoomGossip} implementation. */
export class RoomGossipService implements RoomGossip, Startable {
  readonly #components: RoomGossipComponents
  readonly #init: RoomGossipInit
  readonly #log: Logger
  readonly #maxEventBytes: number
  readonly #scoreParams: RoomTopicScoreParams
  /** topic → room ID, for the rooms subscribed to. */
  readonly #topics = new Map<string, string>()
  /** room ID → its publish queue (created on demand, dropped when idle). */
  readonly #queues = new Map<string, SerialQueue>()
  #internals: RouterInternals | undefined
  #started = false

  readonly [Symbol.toStringTag] = '@keyroom/room-gossip'
  readonly [serviceCapabilities] = ['@keyroom/room-gossip']
  readonly [serviceDependencies] = ['@libp2p/pubsub']

  constructor (components: RoomGossipComponents, init: RoomGossipInit) {
    this.#components = components
    this.#init = init
    this.#log = components.logger.forComponent('keyroom:gossip')
    this.#maxEventBytes = init.maxEventBytes ?? MAX_EVENT_BYTES
    this.#scoreParams = { ...ROOM_TOPIC_SCORE_PARAMS, ...init.topicScoreParams }
  }

  async start (): Promise<void> {
    this.#internals = routerInternals(this.#components.pubsub)
    this.#components.pubsub.addEventListener('gossipsub:message', this.#onMessage)
    this.#started = true
  }

  async stop (): Promise<void> {
    this.#started = false
    this.#components.pubsub.removeEventListener('gossipsub:message', this.#onMessage)
    for (const topic of this.#topics.keys()) {
      this.#components.pubsub.topicValidators.delete(topic)
      this.#internals?.deleteTopicScoreParams(topic)
    }
    this.#topics.clear()
    const stopped = new KeyroomError(ErrorCode.NotStarted, 'room gossip stopped')
    for (const queue of this.#queues.values()) queue.close(stopped)
    this.#queues.clear()
  }

  isStarted (): boolean {
    return this.#started
  }

  subscribe (roomId: string): void {
    const topic = roomTopic(roomId)
    this.#assertStarted()
    if (this.#topics.has(topic)) return
    this.#topics.set(topic, roomId)
    this.#components.pubsub.topicValidators.set(topic, this.#validator(roomId))
    if (this.#internals?.setTopicScoreParams(topic, { ...this.#scoreParams }) !== true) {
      this.#log('gossipsub exposes no topic score parameters; invalid events on %s will not cost score', topic)
    }
    this.#components.pubsub.subscribe(topic)
    this.#log('subscribed to room %s', roomId)
  }

  unsubscribe (roomId: string): void {
    const topic = roomTopic(roomId)
    if (!this.#topics.delete(topic)) return
    if (this.#started) this.#components.pubsub.unsubscribe(topic)
    this.#components.pubsub.topicValidators.delete(topic)
    this.#internals?.deleteTopicScoreParams(topic)
    this.#log('unsubscribed from room %s', roomId)
  }

  rooms (): string[] {
    return [...this.#topics.values()]
  }

  subscribers (roomId: string): PeerId[] {
    return this.#components.pubsub.getSubscribers(roomTopic(roomId))
  }

  scoreOf (peer: PeerId): number | undefined {
    return this.#internals?.getScore(peer.toString())
  }

  async publish (roomId: string, bytes: Uint8Array, options: PublishOptions = {}): Promise<PublishOutcome> {
    const topic = roomTopic(roomId)
    this.#assertStarted()
    if (bytes.byteLength > this.#maxEventBytes) {
      throw new KeyroomError(ErrorCode.GossipMessageTooLarge, `event of ${bytes.byteLength} bytes exceeds the gossip limit of ${this.#maxEventBytes}`)
    }
    let queue = this.#queues.get(roomId)
    if (queue === undefined) {
      const created = new SerialQueue(this.#init.maxQueuedPublishes ?? MAX_QUEUED_PUBLISHES, () => {
        if (this.#queues.get(roomId) === created) this.#queues.delete(roomId)
      })
      this.#queues.set(roomId, created)
      queue = created
    }
    return await queue.add(async () => await this.#publishNow(topic, bytes, options), options)
  }

  /** One publish, run by the room's queue: wait for a peer, hand to gossipsub, wait for drain. */
  async #publishNow (topic: string, bytes: Uint8Array, options: PublishOptions): Promise<PublishOutcome> {
    const { signal } = options
    signal?.throwIfAborted()
    if (!this.#started) throw new KeyroomError(ErrorCode.NotStarted, 'room gossip stopped')
    const wait = options.waitForPeersTimeout ?? this.#init.waitForPeersTimeout ?? WAIT_FOR_PEERS_TIMEOUT_MS
    if (!(await this.#waitForPeers(topic, wait, signal))) return { status: 'no-peers' }

    let recipients: PeerId[]
    try {
      recipients = (await this.#components.pubsub.publish(topic, bytes)).recipients
    } catch (err) {
      // gossipsub 17 reports these as plain Errors whose message is the reason.
      const message = err instanceof Error ? err.message : String(err)
      if (message === 'PublishError.Duplicate') return { status: 'duplicate' }
      if (message === 'PublishError.NoPeersSubscribedToTopic') return { status: 'no-peers' }
      throw new KeyroomError(ErrorCode.GossipPublishFailed, `gossipsub refused the publish: ${message}`, { cause: err })
    }
    if (recipients.length === 0) return { status: 'no-peers' }
    await this.#drain(recipients, signal)
    return { status: 'sent', recipients }
  }

  /**
   * Wait (at most `ms`) until some subscriber of `topic` can be sent to: it has told us it is
   * subscribed and — when the router lets us see it — our outbound gossip stream to it is open
   * (otherwise gossipsub would mark the event seen without sending it anywhere).
   */
  async #waitForPeers (topic: string, ms: number, signal?: AbortSignal): Promise<boolean> {
    const ready = (): boolean => this.#components.pubsub.getSubscribers(topic).some(peer =>
      this.#internals?.seesStreams !== true || this.#internals.outboundStream(peer.toString()) !== undefined)
    const until = Date.now() + ms
    while (!ready()) {
      const left = until - Date.now()
      if (!this.#started) throw new KeyroomError(ErrorCode.NotStarted, 'room gossip stopped')
      if (left <= 0) return false
      await sleep(Math.min(PEER_POLL_INTERVAL_MS, left), signal)
    }
    return true
  }

  /** Backpressure: wait until each recipient's gossip stream can take more (bounded per stream). */
  async #drain (recipients: PeerId[], signal?: AbortSignal): Promise<void> {
    const timeout = this.#init.drainTimeout ?? DRAIN_TIMEOUT_MS
    for (const peer of recipients) {
      const stream = this.#internals?.outboundStream(peer.toString())
      if (stream?.writableNeedsDrain !== true) continue
      const bounded = signal === undefined ? AbortSignal.timeout(timeout) : AbortSignal.any([signal, AbortSignal.timeout(timeout)])
      try {
        await stream.onDrain({ signal: bounded })
      } catch (err) {
        signal?.throwIfAborted()
        // The bytes are already queued on the stream; a slow or closed peer is logged, not fatal.
        this.#log('gossip stream to %p did not drain: %s', peer, err instanceof Error ? err.message : String(err))
      }
    }
  }

  /** The topic validator of one room: size first, then the validate port, bounded in time. */
  #validator (roomId: string): TopicValidatorFn {
    return async (from: PeerId, msg: Message): Promise<TopicValidatorResult> => {
      // StrictNoSign: a libp2p-signed message is malformed here (gossipsub rejects it too).
      if (msg.type !== 'unsigned') return TopicValidatorResult.Reject
      if (msg.data.byteLength > this.#maxEventBytes) return TopicValidatorResult.Reject
      const controller = new AbortController()
      let timer: ReturnType<typeof setTimeout> | undefined
      try {
        const verdict = await Promise.race([
          Promise.resolve(this.#init.validate(roomId, msg.data, from, { signal: controller.signal })),
          new Promise<never>((_resolve, reject) => {
            timer = setTimeout(() => {
              const err = new Error(`validation took longer than ${this.#init.validateTimeout ?? VALIDATE_TIMEOUT_MS}ms`)
              controller.abort(err)
              reject(err)
            }, this.#init.validateTimeout ?? VALIDATE_TIMEOUT_MS)
          })
        ])
        const result = Object.hasOwn(VERDICTS, verdict) ? VERDICTS[verdict] : undefined
        if (result !== undefined) return result
        this.#log.error('validate port returned %s for an event in %s; ignoring the event', String(verdict), roomId)
      } catch (err) {
        this.#log.error('validate port failed for an event in %s from %p; ignoring the event - %e', roomId, from, err)
      } finally {
        clearTimeout(timer)
      }
      return TopicValidatorResult.Ignore
    }
  }

  /** Delivery of accepted events on our room topics to the engine. */
  readonly #onMessage = (evt: CustomEvent<GossipsubMessage>): void => {
    const { msg, propagationSource } = evt.detail
    const roomId = this.#topics.get(msg.topic)
    if (roomId === undefined) return
    try {
      const pending = this.#init.onEvent(roomId, msg.data, propagationSource)
      if (pending instanceof Promise) {
        pending.catch(err => { this.#log.error('onEvent failed for an event in %s - %e', roomId, err) })
      }
    } catch (err) {
      this.#log.error('onEvent failed for an event in %s - %e', roomId, err)
    }
  }

  #assertStarted (): void {
    if (!this.#started) throw new KeyroomError(ErrorCode.NotStarted, 'room gossip is not started')
  }
}

/** Sleep `ms`, or reject with the signal's reason when it aborts first. */
async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
