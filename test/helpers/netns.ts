/**
 * A throwaway local network made of Linux network namespaces, for tests that need real machines on
 * one LAN (mDNS discovery, multicast, no internet) rather than several nodes on loopback.
 *
 * Layout of one LAN:
 *
 * ```
 *   <id>-br            <id>-0              <id>-1          …
 *   ┌──────────┐       ┌──────────────┐    ┌──────────────┐
 *   │ br0      │─ p0 ══ eth0 10.77.0.10 │    │ eth0 .11     │
 *   │ (bridge) │─ p1 ══════════════════════ │              │
 *   └──────────┘       │ lo           │    │ lo           │
 *                      └──────────────┘    └──────────────┘
 * ```
 *
 * The bridge sits in a namespace of its own, so nothing is added to the root namespace: interface
 * names never collide with the host's or with a parallel run's, and the host's firewall (or
 * `br_netfilter`) never sees the traffic. Each host namespace gets `lo` up, one veth (`eth0`) with
 * an address in a private /24, a route for 224.0.0.0/4 (mDNS sends to 224.0.0.251:5353, and with no
 * default route the kernel would otherwise answer "network unreachable"), and no default route: the
 * LAN has no internet. The bridge floods multicast (`mcast_snooping 0`) and forwards at once
 * (`forward_delay 0`, no STP).
 *
 * Namespace names are `<prefix>-<pid>-<random>-<n>`, so parallel runs never collide, and a run can
 * tell leftovers of a killed run (their pid is gone) from a live parallel run's (pid alive).
 * Everything is removed by {@link Lan.teardown}, and — should the test process exit without it — by
 * a process `exit` hook; leftovers of killed runs are removed when the next LAN is made.
 *
 * Needs root (or CAP_SYS_ADMIN + CAP_NET_ADMIN) and iproute2; {@link netnsSupport} says whether this
 * machine can, and why not.
 */
import { execFile, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import type { ChildProcessByStdio, SpawnOptions } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'

/** Prefix of every namespace this helper makes. */
export const NETNS_PREFIX = 'krlan'

/** The interface name of each host's LAN link, inside its own namespace. */
export const LAN_IFACE = 'eth0'

/** Time any one `ip` command may take, ms. */
const IP_TIMEOUT_MS = 10_000

/** One machine on the LAN: a network namespace. */
export interface LanHost {
  /** The namespace name (for `ip netns exec`). */
  readonly ns: string
  /** Its IPv4 address on the LAN. */
  readonly address: string
  /** Its LAN interface (always {@link LAN_IFACE}). */
  readonly iface: string
}

/** A child process started in a namespace: stdin, stdout and stderr are pipes. */
export type NsProcess = ChildProcessByStdio<Writable, Readable, Readable>

/** A LAN of namespaces joined by a bridge. */
export interface Lan {
  /** `<prefix>-<pid>-<random>`: every namespace of this LAN starts with it. */
  readonly id: string
  /** The namespace holding the bridge. */
  readonly bridgeNs: string
  /** The subnet, e.g. `10.77.0.0/24`. */
  readonly subnet: string
  /** The machines, in order. */
  readonly hosts: readonly LanHost[]
  /** Start `command` inside a host's namespace (tracked: killed by {@link Lan.teardown}). */
  run(host: LanHost, command: string, args?: readonly string[], options?: RunOptions): NsProcess
  /** Kill what still runs in the LAN's namespaces and delete them. Idempotent; never throws. */
  teardown(): Promise<void>
}

/** Options of {@link createLan}. */
export interface CreateLanOptions {
  /** Number of host namespaces (1 to 200). */
  hosts: number
  /** Namespace name prefix (default {@link NETNS_PREFIX}); letters, digits and `_` only. */
  prefix?: string
  /** First three octets of the /24 (default `10.77.0`). Hosts get `.10`, `.11`, … */
  subnet24?: string
}

/** Options of {@link run}. */
export interface RunOptions {
  /** Working directory of the child (default: this process's). */
  cwd?: string
  /** Environment (default: this process's). */
  env?: NodeJS.ProcessEnv
}

/** Whether namespaces can be made here, and if not, why. */
export type NetnsSupport = { ok: true } | { ok: false, reason: string }

/** Children started by {@link run}, killed by the exit hook if still alive. */
const liveChildren = new Set<NsProcess>()
/** Namespaces made and not yet deleted, deleted by the exit hook. */
const liveNamespaces = new Set<string>()
let exitHookInstalled = false

/**
 * Run `ip` with `args`; resolve with stdout, reject with an Error carrying stderr (and `code`, e.g.
 * `ENOENT` when iproute2 is missing).
 */
export async function ip (args: readonly string[]): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: IP_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err === null) { resolve(stdout); return }
      const detail = stderr.trim() === '' ? err.message : stderr.trim()
      reject(Object.assign(new Error(`ip ${args.join(' ')}: ${detail}`, { cause: err }), { code: (err as { code?: unknown }).code }))
    })
  })
}

/** `ip -j …` parsed (iproute2's JSON output). */
async function ipJson<T> (args: readonly string[]): Promise<T> {
  const out = await ip(['-j', ...args])
  return (out.trim() === '' ? [] : JSON.parse(out)) as T
}

/**
 * Probe, for real, whether this process can make namespaces, a bridge and a veth pair (root, the
 * `ip` tool, the kernel's netns/bridge/veth support, no seccomp or container rule against it).
 */
export async function netnsSupport (): Promise<NetnsSupport> {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces are Linux-only (platform ${process.platform})` }
  const uid = process.getuid?.()
  if (uid !== 0) return { ok: false, reason: `not root (uid ${String(uid)}); creating network namespaces needs CAP_SYS_ADMIN and CAP_NET_ADMIN` }
  try {
    await ip(['-V'])
  } catch (err) {
    const code = (err as { code?: unknown }).code
    return { ok: false, reason: code === 'ENOENT' ? 'the `ip` command (iproute2) is not installed' : `\`ip -V\` failed: ${(err as Error).message}` }
  }
  const probe = `${NETNS_PREFIX}-${process.pid}-${randomBytes(3).toString('hex')}-probe`
  try {
    await ip(['netns', 'add', probe])
    liveNamespaces.add(probe)
    installExitHook()
    await ip(['-n', probe, 'link', 'add', 'br0', 'type', 'bridge'])
    await ip(['-n', probe, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb'])
    return { ok: true }
  } catch (err) {
    return { ok: false, reason: `cannot make a network namespace with a bridge and a veth pair: ${(err as Error).message}` }
  } finally {
    await deleteNamespace(probe)
  }
}

/**
 * Make a LAN of `hosts` namespaces. Removes leftovers of killed runs first. On any failure, removes
 * what it made and rethrows.
 */
export async function createLan (options: CreateLanOptions): Promise<Lan> {
  const prefix = options.prefix ?? NETNS_PREFIX
  const subnet24 = options.subnet24 ?? '10.77.0'
  if (!/^[A-Za-z0-9_]{1,16}$/.test(prefix)) throw new Error(`bad namespace prefix ${JSON.stringify(prefix)}`)
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(subnet24)) throw new Error(`bad /24 ${JSON.stringify(subnet24)}`)
  if (!Number.isInteger(options.hosts) || options.hosts < 1 || options.hosts > 200) throw new Error(`bad host count ${options.hosts}`)
  await cleanStaleNamespaces(prefix)
  installExitHook()

  const id = `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`
  const bridgeNs = `${id}-br`
  const hosts: LanHost[] = Array.from({ length: options.hosts }, (_, i) => ({
    ns: `${id}-${i}`,
    address: `${subnet24}.${10 + i}`,
    iface: LAN_IFACE
  }))
  const made: string[] = []
  const children = new Set<NsProcess>()
  let tornDown = false

  const lan: Lan = {
    id,
    bridgeNs,
    subnet: `${subnet24}.0/24`,
    hosts,
    run (host, command, args = [], runOptions = {}) {
      if (tornDown) throw new Error(`LAN ${id} is torn down`)
      if (!hosts.includes(host)) throw new Error(`${host.ns} is not a host of LAN ${id}`)
      const child = run(host.ns, command, args, runOptions)
      children.add(child)
      child.once('exit', () => children.delete(child))
      return child
    },
    async teardown () {
      if (tornDown) return
      tornDown = true
      await Promise.all([...children].map(killAndWait))
      for (const ns of [...made].reverse()) await deleteNamespace(ns)
    }
  }

  try {
    const add = async (ns: string): Promise<void> => {
      await ip(['netns', 'add', ns])
      made.push(ns)
      liveNamespaces.add(ns)
    }
    await add(bridgeNs)
    for (const host of hosts) await add(host.ns)

    await ip(['-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0'])
    await ip(['-n', bridgeNs, 'link', 'set', 'br0', 'up'])
    await Promise.all(hosts.map(async (host, i) => {
      const port = `p${i}`
      await ip(['-n', bridgeNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', host.iface, 'netns', host.ns])
      await ip(['-n', bridgeNs, 'link', 'set', port, 'master', 'br0'])
      await ip(['-n', bridgeNs, 'link', 'set', port, 'up'])
      await ip(['-n', host.ns, 'link', 'set', 'lo', 'up'])
      await ip(['-n', host.ns, 'addr', 'add', `${host.address}/24`, 'dev', host.iface])
      await ip(['-n', host.ns, 'link', 'set', host.iface, 'up', 'multicast', 'on'])
      await ip(['-n', host.ns, 'route', 'add', '224.0.0.0/4', 'dev', host.iface])
    }))
    for (const host of hosts) {
      const facts = await hostFacts(host)
      const wrong = [
        facts.up ? undefined : `${host.iface} is not up`,
        facts.multicast ? undefined : `${host.iface} lacks MULTICAST`,
        facts.addresses.includes(host.address) ? undefined : `${host.iface} lacks ${host.address}`,
        facts.multicastRoute ? undefined : 'no route for 224.0.0.0/4',
        facts.defaultRoute ? 'a default route exists' : undefined
      ].filter(w => w !== undefined)
      if (wrong.length > 0) throw new Error(`namespace ${host.ns} is not set up as asked: ${wrong.join('; ')}`)
    }
    return lan
  } catch (err) {
    await lan.teardown()
    throw err
  }
}

/** What a host's network looks like from inside its namespace. */
export interface HostFacts {
  /** The LAN interface is administratively and operationally up. */
  up: boolean
  /** The LAN interface has the MULTICAST flag. */
  multicast: boolean
  /** IPv4 addresses on the LAN interface. */
  addresses: string[]
  /** A route for 224.0.0.0/4 exists. */
  multicastRoute: boolean
  /** A default route exists. */
  defaultRoute: boolean
  /** The kernel finds a route to a public address (1.1.1.1). */
  routesToInternet: boolean
  /** `lo` is up. */
  loopbackUp: boolean
}

/** Read a host's interfaces and routes (`ip -j`). */
export async function hostFacts (host: LanHost): Promise<HostFacts> {
  interface Link { ifname: string, flags?: string[], operstate?: string }
  interface Addr { ifname: string, addr_info?: { family: string, local: string }[] }
  interface Route { dst: string }
  const [links, addrs, routes] = await Promise.all([
    ipJson<Link[]>(['-n', host.ns, 'link', 'show']),
    ipJson<Addr[]>(['-n', host.ns, 'addr', 'show', 'dev', host.iface]),
    ipJson<Route[]>(['-n', host.ns, 'route', 'show'])
  ])
  const link = links.find(l => l.ifname === host.iface)
  const lo = links.find(l => l.ifname === 'lo')
  const routesToInternet = await ip(['-n', host.ns, 'route', 'get', '1.1.1.1']).then(() => true, () => false)
  return {
    up: link?.flags?.includes('UP') === true && link.operstate === 'UP',
    multicast: link?.flags?.includes('MULTICAST') === true,
    addresses: addrs.flatMap(a => (a.addr_info ?? []).filter(i => i.family === 'inet').map(i => i.local)),
    multicastRoute: routes.some(r => r.dst === '224.0.0.0/4'),
    defaultRoute: routes.some(r => r.dst === 'default'),
    routesToInternet,
    loopbackUp: lo?.flags?.includes('UP') === true
  }
}

/**
 * Spawn `command` inside namespace `ns` (`ip netns exec`, which execs the command, so the child's
 * pid is the command's). Pipes for stdin/stdout/stderr. Tracked: the exit hook kills it if alive.
 */
export function run (ns: string, command: string, args: readonly string[] = [], options: RunOptions = {}): NsProcess {
  installExitHook()
  const spawnOptions: SpawnOptions = { stdio: ['pipe', 'pipe', 'pipe'] }
  if (options.cwd !== undefined) spawnOptions.cwd = options.cwd
  if (options.env !== undefined) spawnOptions.env = options.env
  const child = spawn('ip', ['netns', 'exec', ns, command, ...args], spawnOptions) as NsProcess
  liveChildren.add(child)
  child.once('exit', () => liveChildren.delete(child))
  // A child that dies first closes its stdin; writes to it must not crash the test process.
  child.stdin.on('error', () => {})
  return child
}

/**
 * Delete namespaces named `<prefix>-<pid>-…` whose pid is not a live process: leftovers of a run
 * that was killed before its teardown. Live parallel runs keep theirs. Returns the names deleted.
 */
export async function cleanStaleNamespaces (prefix: string = NETNS_PREFIX): Promise<string[]> {
  const out = await ip(['netns', 'list'])
  const pattern = new RegExp(`^${prefix}-(\\d+)-[0-9a-f]+-`)
  const stale = out.split('\n')
    .map(line => line.trim().split(' ')[0] ?? '')
    .filter(name => {
      const m = pattern.exec(name)
      return m !== null && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))
    })
  for (const ns of stale) await deleteNamespace(ns)
  return stale
}

function pidAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: alive, owned by someone else.
    return (err as { code?: unknown }).code === 'EPERM'
  }
}

/** Kill every process still in `ns`, then delete it. Never throws. */
async function deleteNamespace (ns: string): Promise<void> {
  try {
    const pids = (await ip(['netns', 'pids', ns])).split(/\s+/).filter(p => /^\d+$/.test(p)).map(Number)
    for (const pid of pids) {
      try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
    }
  } catch { /* namespace already gone */ }
  try {
    await ip(['netns', 'del', ns])
  } catch { /* already gone */ }
  liveNamespaces.delete(ns)
}

/** SIGKILL a child and wait for its exit (bounded: a zombie-proof 5 s). */
async function killAndWait (child: NsProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>(resolve => {
    const timer = setTimeout(resolve, 5_000)
    child.once('exit', () => { clearTimeout(timer); resolve() })
    child.kill('SIGKILL')
  })
}

/**
 * On exit (a failed test that skipped its afterAll, a worker shutting down), synchronously kill
 * tracked children and delete tracked namespaces. A SIGKILLed test process runs no hook; its
 * namespaces are removed by {@link cleanStaleNamespaces} on the next run.
 */
function installExitHook (): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of liveChildren) {
      try { child.kill('SIGKILL') } catch { /* gone */ }
    }
    for (const ns of liveNamespaces) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: IP_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'ignore'] })
        for (const pid of pids.split(/\s+/).filter(p => /^\d+$/.test(p)).map(Number)) {
          try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
        }
      } catch { /* gone */ }
      try { execFileSync('ip', ['netns', 'del', ns], { timeout: IP_TIMEOUT_MS, stdio: 'ignore' }) } catch { /* gone */ }
    }
  })
}
