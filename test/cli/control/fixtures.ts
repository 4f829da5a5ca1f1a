/** A control server over a {@link StubNode} in a temporary data directory, closed after each test. */
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'
import { serveControl } from '../../../cli/control/server.js'
import type { ControlServer } from '../../../cli/control/server.js'
import { controlSocketPath } from '../../../cli/control/socket-path.js'
import { StubNode } from './stub-node.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A fresh temporary directory, removed after the test. */
export async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyroom-ctl-'))
  cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

export interface Served {
  dataDir: string
  path: string
  node: StubNode
  server: ControlServer
  logs: string[]
  stops: () => number
}

/** Serves the control socket for a stub node (or the one given). */
export async function serveStub (node = new StubNode()): Promise<Served> {
  const dataDir = await tempDir()
  const path = controlSocketPath(dataDir)
  const logs: string[] = []
  let stops = 0
  const server = await serveControl({
    node: node.asNode(),
    info: { dataDir, socket: path, pid: 4242, version: '9.9.9', startedAt: 1_000, now: () => 61_000 },
    stop: async () => { stops++ },
    log: (line) => { logs.push(line) },
    peersPollMs: 20
  })
  cleanups.push(async () => { await server.close() })
  return { dataDir, path, node, server, logs, stops: () => stops }
}

/** A raw connection that collects the lines it receives. */
export interface RawClient {
  socket: Socket
  lines: () => Array<Record<string, unknown>>
  closed: () => boolean
  send: (text: string) => void
}

export async function rawClient (path: string): Promise<RawClient> {
  const socket = connect({ path })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  let buffer = ''
  let closed = false
  socket.setEncoding('utf8').on('data', (chunk: string) => { buffer += chunk })
  socket.on('error', () => {})
  socket.on('close', () => { closed = true })
  cleanups.push(async () => { socket.destroy() })
  return {
    socket,
    lines: () => buffer.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>),
    closed: () => closed,
    send: (text) => { socket.write(text) }
  }
}

/** A socket file nobody listens on: a child process binds it and is killed with SIGKILL. */
export async function staleSocket (path: string): Promise<void> {
  const script = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`
  await new Promise<void>((resolve) => { execFile(process.execPath, ['-e', script], () => { resolve() }) })
}
