/**
 * A bounded, first-in-first-out queue that runs one task at a time (urgent tasks go first).
 *
 * `add()` waits while the queue is full, so a burst of publishes becomes backpressure on whoever
 * publishes — nothing is dropped, and memory stays at `capacity` tasks. Waiting callers are served
 * in arrival order (a freed slot is handed to the longest waiter, never to a newcomer). Every wait
 * honours the caller's `AbortSignal`.
 */
import type { AbortOptions } from '@libp2p/interface'

interface Task {
  run: () => Promise<unknown>
  /** Queued ahead of every non-urgent task (after the urgent ones already queued). */
  urgent: boolean
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
  signal?: AbortSignal
  onAbort?: () => void
}

interface Waiter {
  admit: () => void
  reject: (err: unknown) => void
  signal?: AbortSignal
  onAbort?: () => void
}

/** One queue (gossip keeps one per room, so a room without peers does not hold up the others). */
export class SerialQueue {
  readonly #capacity: number
  readonly #onIdle: () => void
  readonly #tasks: Task[] = []
  readonly #waiters: Waiter[] = []
  /** Slots handed to waiters that have not pushed their task yet. */
  #reserved = 0
  #running = false
  #closed: Error | undefined

  /**
   * @param capacity - tasks queued or running before `add` waits.
   * @param onIdle - called when the queue becomes empty with nobody waiting (owners drop it then).
   */
  constructor (capacity: number, onIdle: () => void = () => {}) {
    this.#capacity = Math.max(1, capacity)
    this.#onIdle = onIdle
  }

  /** Tasks queued or running, plus slots promised to waiters. */
  get size (): number {
    return this.#tasks.length + (this.#running ? 1 : 0) + this.#reserved
  }

  /** Callers waiting for a slot. */
  get waiting (): number {
    return this.#waiters.length
  }

  /**
   * Run `task` after every task added before it — or, `urgent`, after the running task and the
   * urgent ones queued before it, ahead of the others (a node's own send does not wait behind a
   * backlog of incoming events). Resolves or rejects with the task's outcome; rejects with the
   * signal's reason if aborted before the task starts (a running task gets the signal itself), or
   * with the close reason if the queue is closed first.
   */
  async add<T> (task: () => Promise<T>, options: AbortOptions & { urgent?: boolean } = {}): Promise<T> {
    const { signal } = options
    if (this.#closed !== undefined) throw this.#closed
    signal?.throwIfAborted()
    if (this.size >= this.#capacity || this.#waiters.length > 0) {
      await this.#waitForSlot(signal)
      this.#reserved--
      if (this.#closed !== undefined) throw this.#closed
    }
    return await new Promise<T>((resolve, reject) => {
      const entry: Task = { run: task, urgent: options.urgent === true, resolve: resolve as (v: unknown) => void, reject }
      if (signal !== undefined) {
        entry.signal = signal
        entry.onAbort = () => {
          const i = this.#tasks.indexOf(entry)
          if (i < 0) return // already running: the task sees the signal itself
          this.#tasks.splice(i, 1)
          reject(signal.reason)
          this.#release()
        }
        signal.addEventListener('abort', entry.onAbort, { once: true })
      }
      if (entry.urgent) {
        const firstOrdinary = this.#tasks.findIndex(t => !t.urgent)
        this.#tasks.splice(firstOrdinary < 0 ? this.#tasks.length : firstOrdinary, 0, entry)
      } else {
        this.#tasks.push(entry)
      }
      this.#pump()
    })
  }

  /** Reject everything queued or waiting with `err`; later `add` calls throw it. The running task finishes. */
  close (err: Error): void {
    this.#closed = err
    for (const t of this.#tasks.splice(0)) {
      if (t.onAbort !== undefined) t.signal?.removeEventListener('abort', t.onAbort)
      t.reject(err)
    }
    for (const w of this.#waiters.splice(0)) {
      if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort)
      w.reject(err)
    }
  }

  async #waitForSlot (signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { admit: resolve, reject }
      if (signal !== undefined) {
        waiter.signal = signal
        waiter.onAbort = () => {
          const i = this.#waiters.indexOf(waiter)
          if (i >= 0) this.#waiters.splice(i, 1)
          reject(signal.reason)
        }
        signal.addEventListener('abort', waiter.onAbort, { once: true })
      }
      this.#waiters.push(waiter)
    })
  }

  /** A slot freed: hand it to the longest waiter, or report idleness. */
  #release (): void {
    const waiter = this.#waiters.shift()
    if (waiter !== undefined) {
      if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort)
      this.#reserved++
      waiter.admit()
      return
    }
    if (this.size === 0) this.#onIdle()
  }

  #pump (): void {
    if (this.#running) return
    const task = this.#tasks.shift()
    if (task === undefined) return
    if (task.onAbort !== undefined) task.signal?.removeEventListener('abort', task.onAbort)
    this.#running = true
    void task.run().then(task.resolve, task.reject).finally(() => {
      this.#running = false
      this.#release()
      this.#pump()
    })
  }
}
