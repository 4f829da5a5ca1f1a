/**
 * A child process for the node benchmarks (bench/node.ts), run with the project's Node, either with
 * tsx (`node --import tsx bench/node-child.ts <mode> …`) or transpiled to JavaScript
 * (bench/transpile.ts). It speaks JSON lines on stdout and exits when its stdin ends (so it never
 * outlives the bench).
 *
 * - `import <settleMs>` — imports the node's modules (the package root) and starts nothing; after
 *   `settleMs` prints `{ type: 'memory', … }` (process.memoryUsage()). The module-loading baseline.
 * - `idle <dataDir> <settleMs>` — starts one node with the default options (no peers) and prints
 *   `{ type: 'ready' }`; after `settleMs` prints `{ type: 'memory', … }`. (The RSS bench also runs
 *   it with a young-generation limit on Node's command line: what docs/api.md "Memory" suggests to embedders.)
 * - `raw-libp2p <settleMs>` — starts a bare libp2p node with the node's composition (TCP and
 *   WebSockets on every interface, Noise, Yamux, identify, ping, kad-dht in server mode, gossipsub
 *   with `StrictNoSign`), without keyroom's services, store or identity; prints `{ type: 'ready' }`,
 *   then after `settleMs` `{ type: 'memory', … }`. The libp2p baseline.
 * - `peer <dataDir>` — starts one node, prints `{ type: 'ready', userId, multiaddrs }`, and joins
 *   every room it is invited to (printing `{ type: 'joined', roomId }`): the remote member that a
 *   local-send benchmark publishes to, on its own event loop.
 */
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

const [mode, ...rest] = process.argv.slice(2)

function emit (type: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ type, ...fields }) + '\n')
}

function memory (): Record<string, number> {
  const m = process.memoryUsage()
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, ...rssSplit() }
}

/**
 * Linux only (else empty): RSS split into anonymous memory (this process's own: JS heap, malloc,
 * stacks) and file-backed pages (mostly the `node` binary's code and data, shared with every other
 * Node process and dropped first under memory pressure).
 */
function rssSplit (): Record<string, number> {
  try {
    const status = readFileSync('/proc/self/status', 'utf8')
    const kb = (name: string): number | undefined => {
      const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'mu').exec(status)
      return m === null ? undefined : Number(m[1]) * 1024
    }
    const anon = kb('RssAnon')
    const file = kb('RssFile')
    return anon === undefined || file === undefined ? {} : { rssAnon: anon, rssFile: file }
  } catch {
    return {}
  }
}

const stopped = new Promise<void>(resolve => {
  createInterface({ input: process.stdin }).on('close', resolve)
})

if (mode === 'import') {
  await import('../node/index.js')
  await new Promise(resolve => setTimeout(resolve, Number(rest[0] ?? 3000)))
  emit('memory', memory())
  await stopped
} else if (mode === 'raw-libp2p') {
  const [{ createLibp2p }, { tcp }, { webSockets }, { noise }, { yamux }, { identify }, { ping }, { kadDHT }, { gossipsub, StrictNoSign }] = await Promise.all([
    import('libp2p'), import('@libp2p/tcp'), import('@libp2p/websockets'), import('@chainsafe/libp2p-noise'), import('@chainsafe/libp2p-yamux'),
    import('@libp2p/identify'), import('@libp2p/ping'), import('@libp2p/kad-dht'), import('@libp2p/gossipsub')
  ])
  const libp2p = await createLibp2p({
    addresses: { listen: ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws'] },
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping(), dht: kadDHT({ clientMode: false }), pubsub: gossipsub({ globalSignaturePolicy: StrictNoSign }) }
  })
  emit('ready')
  await new Promise(resolve => setTimeout(resolve, Number(rest[0] ?? 3000)))
  emit('memory', memory())
  await stopped
  await libp2p.stop()
} else if (mode === 'idle' || mode === 'peer') {
  const [dataDir, settle] = rest
  if (dataDir === undefined) throw new Error('usage: node-child.ts idle|peer <dataDir> [settleMs]')
  const { createNode } = await import('../node/index.js')
  // The idle node runs with the defaults a user gets (listening on every interface, TCP and
  // WebSockets; durable writes); the peer listens on loopback and skips fsync (it is not measured).
  const node = await createNode(mode === 'idle'
    ? { dataDir }
    : { dataDir, listen: ['/ip4/127.0.0.1/tcp/0'], loggerPrefix: 'bench-peer', durableWrites: false })
  if (mode === 'peer') {
    node.addEventListener('membership', e => {
      const change = e.detail
      if (change.userId !== node.userId || change.membership !== 'invite') return
      node.join(change.roomId).then(
        roomId => { emit('joined', { roomId }) },
        (err: unknown) => { emit('error', { error: err instanceof Error ? err.message : String(err) }) })
    })
  }
  emit('ready', { userId: node.userId, multiaddrs: node.multiaddrs() })
  if (mode === 'idle') {
    await new Promise(resolve => setTimeout(resolve, Number(settle ?? 3000)))
    emit('memory', memory())
  }
  await stopped
  await node.stop()
} else {
  throw new Error(`unknown mode ${String(mode)}: import | raw-libp2p | idle | peer`)
}
process.exit(0)
