/**
 * The ingest checks of a large batch (catch-up: up to a thousand events per sync answer) split
 * between this thread and a worker thread, so signature verification — most of the checks' cost —
 * runs on two cores. The checks are pure (ingest-checks.ts), so a verdict is the same on either
 * thread; an event the worker passed is parsed again here (a few microseconds) to hand the engine
 * its own object.
 *
 * The worker is started on first use and stopped after {@link CHECK_WORKER_IDLE_MS} without work,
 * so an idle node holds no second JavaScript heap. If it cannot start or fails, the batch is
 * checked on this thread: the pool is an accelerator, never a dependency.
 */
import { Worker } from 'node:worker_threads'
import { parseJson } from '../protocols/core/index.js'
import { CHECK_WORKER_IDLE_MS, CHECK_WORKER_MIN_BATCH } from './constants.js'
import { checkEventBytes } from './ingest-checks.js'
import type { CheckedEvent, IngestCheck } from './ingest-checks.js'
import type { RoomEvent } from '../protocols/core/index.js'
import type { Logger } from '@libp2p/interface'

/** One event to check: its bytes, the ID it was sent as, and the room it must claim. */
export interface CheckItem {
  bytes: Uint8Array
  eventId: string
  roomId: string
}

/** A message to the worker. */
export interface CheckJob {
  id: number
  items: CheckItem[]
}

/** The worker's answer: per item, `null` (passed) or why it failed. */
export interface CheckJobResult {
  id: number
  reasons: Array<string | null>
}

/** Checks batches of events, part on a worker thread. */
export class CheckPool {
  readonly #log: Logger | undefined
  #worker: Worker | undefined
  #broken = false
  #nextId = 0
  readonly #pending = new Map<number, { resolve: (reasons: Array<string | null>) => void, reject: (err: Error) => void }>()
  #idleTimer: ReturnType<typeof setTimeout> | undefined
  #closed = false
  #workerChecked = 0

  constructor (options: { log?: Logger } = {}) {
    this.#log = options.log
  }

  /** The checks of every item, in order (as `checkEventBytes` would answer them one by one). */
  async check (items: readonly CheckItem[]): Promise<IngestCheck[]> {
    const worker = items.length >= CHECK_WORKER_MIN_BATCH ? this.#ensureWorker() : undefined
    if (worker === undefined) return items.map(item => checkEventBytes(item.bytes, { eventId: item.eventId, roomId: item.roomId }))
    // The worker takes the second half while this thread checks the first.
    const split = Math.floor(items.length / 2)
    const theirs = items.slice(split)
    const remote = this.#send(worker, theirs)
    const mine = items.slice(0, split).map(item => checkEventBytes(item.bytes, { eventId: item.eventId, roomId: item.roomId }))
    let reasons: Array<string | null>
    try {
      reasons = await remote
    } catch (err) {
      this.#log?.('check worker failed, checking here: %s', err instanceof Error ? err.message : String(err))
      return [...mine, ...theirs.map(item => checkEventBytes(item.bytes, { eventId: item.eventId, roomId: item.roomId }))]
    }
    this.#workerChecked += theirs.length
    const rest = theirs.map((item, i): IngestCheck => {
      const reason = reasons[i]
      if (reason !== null && reason !== undefined) return { ok: false, reason }
      const checked: CheckedEvent = { eventId: item.eventId, event: parseJson(item.bytes) as RoomEvent, bytes: item.bytes }
      return { ok: true, checked }
    })
    return [...mine, ...rest]
  }

  /** Events the worker thread has checked so far (diagnostics, tests). */
  get workerChecked (): number {
    return this.#workerChecked
  }

  /** Starts the worker ahead of a large batch (it loads its modules while the batch is fetched). */
  warm (): void {
    if (this.#ensureWorker() !== undefined) this.#armIdle()
  }

  /** Stops the worker (if any); later checks run on this thread. */
  async close (): Promise<void> {
    this.#closed = true
    clearTimeout(this.#idleTimer)
    const worker = this.#worker
    this.#worker = undefined
    if (worker !== undefined) await worker.terminate()
  }

  #ensureWorker (): Worker | undefined {
    if (this.#closed || this.#broken) return undefined
    if (this.#worker !== undefined) return this.#worker
    try {
      // From the sources (tests, tsx) the worker is TypeScript and needs the same loader.
      const fromSource = import.meta.url.endsWith('.ts')
      const url = new URL(fromSource ? './check-worker.ts' : './check-worker.js', import.meta.url)
      const worker = new Worker(url, fromSource ? { execArgv: ['--import', 'tsx'] } : {})
      worker.unref()
      worker.on('message', (result: CheckJobResult) => {
        const pending = this.#pending.get(result.id)
        this.#pending.delete(result.id)
        pending?.resolve(result.reasons)
        this.#armIdle()
      })
      const fail = (err: Error): void => {
        if (this.#worker === worker) this.#worker = undefined
        this.#broken = true
        for (const pending of this.#pending.values()) pending.reject(err)
        this.#pending.clear()
      }
      worker.on('error', fail)
      worker.on('exit', (code) => { if (this.#pending.size > 0) fail(new Error(`check worker exited (${code})`)) })
      this.#worker = worker
      return worker
    } catch (err) {
      this.#broken = true
      this.#log?.('no check worker: %s', err instanceof Error ? err.message : String(err))
      return undefined
    }
  }

  async #send (worker: Worker, items: CheckItem[]): Promise<Array<string | null>> {
    clearTimeout(this.#idleTimer)
    const id = this.#nextId++
    return await new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      const job: CheckJob = { id, items }
      worker.postMessage(job)
    })
  }

  #armIdle (): void {
    if (this.#pending.size > 0) return
    clearTimeout(this.#idleTimer)
    this.#idleTimer = setTimeout(() => {
      const worker = this.#worker
      if (worker === undefined || this.#pending.size > 0) return
      this.#worker = undefined
      void worker.terminate()
    }, CHECK_WORKER_IDLE_MS)
    this.#idleTimer.unref?.()
  }
}
