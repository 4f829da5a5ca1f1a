/**
 * Crash safety of the LevelDB store: a child process writes a chain of events (32 in flight,
 * group commit, fsync) and prints each acknowledged write; the test `kill -9`s it mid-stream,
 * three times over the same directory, then checks that every acknowledged write is there and
 * complete and that no event is half-written. Also: a directory held by another live process is
 * refused with ERR_STORE_LOCKED, and is usable again once that process is gone.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Level } from 'level'
import { afterEach, describe, expect, it } from 'vitest'
import { Table, keyText, parseOrderKey, roomPrefix } from '../../store/keys.js'
import { openLevelStore } from '../../store/level.js'
import { chainBytes, chainState } from './fixtures/chain.js'
import type { ChildProcessByStdio } from 'node:child_process'
import type { Readable } from 'node:stream'

const here = dirname(fileURLToPath(import.meta.url))
const repo = resolve(here, '../..')
const CHILD = join(here, 'fixtures', 'store-child.ts')

type Child = ChildProcessByStdio<null, Readable, Readable>

function startChild (mode: 'write' | 'hold', dir: string): Child {
  // The Node running the tests (24, from the repo), with tsx's loader for the TypeScript fixture.
  return spawn(process.execPath, ['--import', 'tsx', CHILD, mode, dir], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Feeds the child's stdout lines to `onLine` until it returns true; bounded by `timeoutMs`. */
async function readUntil (child: Child, timeoutMs: number, onLine: (line: string) => boolean): Promise<void> {
  let buffered = ''
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  await new Promise<void>((resolvePromise, reject) => {
    const timer = setTimeout(() => { done(new Error(`child timed out; stderr: ${stderr}`)) }, timeoutMs)
    const onExit = (code: number | null): void => { done(new Error(`child exited early (${String(code)}); stderr: ${stderr}`)) }
    function done (err?: Error): void {
      clearTimeout(timer)
      child.stdout.off('data', onData)
      child.off('exit', onExit)
      if (err === undefined) resolvePromise()
      else reject(err)
    }
    function onData (d: Buffer): void {
      buffered += d.toString()
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        if (onLine(line)) { done(); return }
      }
    }
    child.stdout.on('data', onData)
    child.on('exit', onExit)
  })
}

async function kill9 (child: Child): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>(r => child.once('exit', () => { r() }))
  child.kill('SIGKILL')
  await exited
}

describe('LevelDB store crash safety', () => {
  const dirs: string[] = []
  const children: Child[] = []
  afterEach(async () => {
    for (const c of children.splice(0)) await kill9(c)
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
  })

  it('kill -9 mid-stream loses no acknowledged write and leaves no half-written event', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyroom-crash-'))
    dirs.push(dir)
    const acked = new Set<number>()
    const starts: number[] = []
    for (let round = 0; round < 3; round++) {
      const child = startChild('write', dir)
      children.push(child)
      // Kill at a different point each round, with writes in flight.
      const target = 150 + round * 73
      let seen = 0
      await readUntil(child, 20_000, line => {
        const [word, n] = line.split(' ')
        if (word === 'start') starts.push(Number(n))
        if (word === 'ack') { acked.add(Number(n)); seen++ }
        return seen >= target
      })
      await kill9(child)
      expect(child.signalCode).toBe('SIGKILL')
    }
    const maxAcked = Math.max(...acked)
    // Each restart resumed after what the last one had made durable.
    expect(starts[0]).toBe(0)
    for (let r = 1; r < starts.length; r++) expect(starts[r]).toBeGreaterThan(Math.max(...[...acked].filter(i => i < starts[r]!)))

    const store = await openLevelStore(dir)
    try {
      // The stored events are exactly a prefix $e0…$eN of the chain (batches are atomic and
      // applied in order), and N covers every acknowledged write.
      const listed = await store.roomEvents('!crash', { limit: 100_000, direction: 'forward' })
      const n = listed.length - 1
      expect(n).toBeGreaterThanOrEqual(maxAcked)
      expect(listed.map(e => e.eventId)).toEqual(Array.from({ length: n + 1 }, (_, i) => `$e${i}`))
      for (const i of acked) {
        const e = await store.getEvent(`$e${i}`)
        expect(e?.bytes).toEqual(chainBytes(i))
        expect(e).toMatchObject({ depth: i, roomId: '!crash', decision: { kind: 'accepted' } })
      }
      for (const i of [0, 1, 2, 3, Math.floor(n / 2), maxAcked, n]) expect(await store.getStateAt(`$e${i}`)).toEqual(chainState(i))
      expect(await store.getHeads('!crash')).toEqual([`$e${n}`])
      expect(await store.getCurrentState('!crash')).toEqual(chainState(n))
    } finally {
      await store.close()
    }

    // Raw scan: every event record has its order entry and vice versa.
    const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
    await db.open()
    try {
      const events = new Set<string>()
      for await (const k of db.keys({ gte: Uint8Array.of(Table.Event), lt: Uint8Array.of(Table.Event + 1) })) events.add(keyText(k, 'event key'))
      const prefix = roomPrefix(Table.Order, '!crash')
      const ordered = new Set<string>()
      for await (const k of db.keys({ gte: Uint8Array.of(Table.Order), lt: Uint8Array.of(Table.Order + 1) })) ordered.add(parseOrderKey(k, prefix.length).eventId)
      expect(events.size).toBeGreaterThan(maxAcked)
      expect([...events].sort()).toEqual([...ordered].sort())
    } finally {
      await db.close()
    }
  }, 60_000)

  it('a directory held by another live process is refused with ERR_STORE_LOCKED, and freed when it dies', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyroom-lock-'))
    dirs.push(dir)
    const child = startChild('hold', dir)
    children.push(child)
    await readUntil(child, 20_000, line => line === 'open')
    const refused = await openLevelStore(dir).then(() => undefined, (err: unknown) => err)
    expect(refused).toMatchObject({ code: 'ERR_STORE_LOCKED' })
    expect((refused as Error).message).toContain(dir)
    expect((refused as { hint?: string }).hint).toMatch(/data directory/)
    await kill9(child)
    // The LOCK file stays behind; LevelDB's lock (fcntl) died with the process.
    const store = await openLevelStore(dir)
    await store.close()
  }, 30_000)
})
