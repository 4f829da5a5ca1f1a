/**
 * The V8 heap setting of the `keyroom` daemon (`keyroom start`), applied by cli/main.ts before the
 * node's modules load. Only the CLI does this: it owns its process. An application that embeds the
 * node (`createNode`) owns its process too, so the library never changes V8 flags behind its back;
 * docs/api.md ("Memory") gives embedders the same setting as a command-line flag.
 *
 * Why: V8's young generation (new space) starts at 1 MiB per semi-space and doubles whenever a
 * scavenge finds it busy. Loading the node's ~900 modules (libp2p, gossipsub, kad-dht, noble, …)
 * allocates enough in a burst to grow it to its 16 MiB cap (32 MiB of new space), and V8 does not
 * give that back while the process idles: an idle node kept ~20 MB of RSS it did not use.
 *
 * Which limit (Node 24.21, `npx tsx --expose-gc bench/node.ts rss` and `catchup`; figures in
 * docs/api.md "Memory"):
 * - 1 MiB semi-spaces (`--max-semi-space-size=1`): idle RSS −22 MB, but the catch-up bench costs
 *   ≈ 10 % more CPU (more frequent scavenges);
 * - 2 or 4 MiB: idle RSS −20 / −19 MB, catch-up CPU within the noise of the default.
 * So the daemon runs with 4 MiB, the roomier of the two: {@link DAEMON_V8_FLAGS}.
 *
 * How: `--max-semi-space-size` is read once, when V8 configures the heap; set later with
 * `v8.setFlagsFromString` it is ignored. So `keyroom start` re-executes itself with the flag on
 * Node's command line (`process.execve`: same process ID, same stdio, nothing started yet). Where
 * `process.execve` does not exist (Windows, Node < 22.15) it falls back to the one run-time limit
 * V8 honours, {@link RUNTIME_FALLBACK_V8_FLAGS} (`--semi-space-growth-factor=1`: the new space keeps
 * its initial 1 MiB semi-spaces; on the command line that flag does the opposite in Node 24.21 —
 * a 64 MiB new space — so it is only ever set at run time). Other commands are short-lived clients
 * of the daemon and run as Node starts them.
 */
import { setFlagsFromString } from 'node:v8'

/** The young-generation limit of the daemon, on Node's command line (see the module comment). */
export const DAEMON_V8_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=4'])

/** The run-time fallback where the daemon cannot re-execute itself (see the module comment). */
export const RUNTIME_FALLBACK_V8_FLAGS: readonly string[] = Object.freeze(['--semi-space-growth-factor=1'])

/** Global options of the CLI that take a value (cli/run.ts): their value is not the subcommand. */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--data-dir'])

/**
 * The subcommand in a `keyroom` argument list (without `node` and the script): the first argument
 * that is neither a global option nor a global option's value. Global options come before the
 * subcommand (cli/run.ts).
 */
export function subcommandOf (argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') return argv[i + 1]
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) {
      i++
      continue
    }
    if (arg.startsWith('-')) continue
    return arg
  }
  return undefined
}

/**
 * Whether the user already chose a young-generation size for this process (a semi-space flag on
 * Node's command line or in `NODE_OPTIONS`): then the CLI leaves V8 alone, so the user's choice wins
 * (and a re-executed daemon, which carries {@link DAEMON_V8_FLAGS}, does not re-execute again).
 */
export function userSetYoungGeneration (execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const mentions = (arg: string): boolean => /^--(?:(?:max|min)[-_])?semi[-_]space[-_]/u.test(arg)
  return execArgv.some(mentions) || (nodeOptions ?? '').split(/\s+/u).some(mentions)
}

/** What the CLI does about V8 flags for one invocation. */
export type CliV8Plan =
  | { readonly action: 'none' }
  | { readonly action: 'execve', readonly args: readonly string[] }
  | { readonly action: 'runtime', readonly flags: readonly string[] }

/** The process facts {@link planCliV8Flags} decides on. */
export interface CliProcess {
  /** `keyroom` arguments (without `node` and the script). */
  argv: readonly string[]
  /** Node's own flags (`process.execArgv`). */
  execArgv: readonly string[]
  /** The script (`process.argv[1]`); `undefined` when the CLI runs inside another program. */
  script: string | undefined
  nodeOptions: string | undefined
  /** Whether `process.execve` is available. */
  canExecve: boolean
}

/**
 * Decides the daemon's V8 setting (see the module comment): re-execute `start` with
 * {@link DAEMON_V8_FLAGS} (the returned `args` are the new process's full argument list after
 * `process.execPath`), or set {@link RUNTIME_FALLBACK_V8_FLAGS}, or nothing (not `start`, or the
 * user chose a size).
 */
export function planCliV8Flags (p: CliProcess): CliV8Plan {
  if (subcommandOf(p.argv) !== 'start' || userSetYoungGeneration(p.execArgv, p.nodeOptions)) return { action: 'none' }
  if (p.canExecve && p.script !== undefined) return { action: 'execve', args: [...DAEMON_V8_FLAGS, ...p.execArgv, p.script, ...p.argv] }
  return { action: 'runtime', flags: RUNTIME_FALLBACK_V8_FLAGS }
}

/** `process.execve` where it exists (Node ≥ 22.15 / 23.11, POSIX; absent from older types). */
type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never

/**
 * Applies {@link planCliV8Flags} to this process. Does not return when it re-executes; if
 * `process.execve` throws (e.g. in a worker thread), falls back to the run-time flag.
 */
export function applyCliV8Flags (): CliV8Plan {
  const execve = (process as { execve?: Execve }).execve
  const plan = planCliV8Flags({
    argv: process.argv.slice(2),
    execArgv: process.execArgv,
    script: process.argv[1],
    nodeOptions: process.env.NODE_OPTIONS,
    canExecve: typeof execve === 'function'
  })
  if (plan.action === 'execve' && execve !== undefined) {
    try {
      execve.call(process, process.execPath, [process.execPath, ...plan.args], process.env)
    } catch {
      // Not allowed here: keep running in this process, with the run-time limit.
    }
    for (const flag of RUNTIME_FALLBACK_V8_FLAGS) setFlagsFromString(flag)
    return { action: 'runtime', flags: RUNTIME_FALLBACK_V8_FLAGS }
  }
  if (plan.action === 'runtime') for (const flag of plan.flags) setFlagsFromString(flag)
  return plan
}
