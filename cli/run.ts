/**
 * The CLI as a function: `run(argv, io)` parses `argv` (without `node` and the script), runs the
 * command and returns the exit code. It never calls `process.exit` and writes only through `io`,
 * so tests and embedding shells call it in-process; cli/main.ts is the thin process entry.
 *
 * Each command group lives in `cli/commands/<group>.ts` and registers itself in COMMANDS.
 */
import { Command, CommanderError } from 'commander'
import type { CliContext, GlobalOptions, RegisterCommands } from './context.js'
import { registerChatCommand } from './commands/chat.js'
import { registerInitCommand } from './commands/init.js'
import { registerMessageCommands } from './commands/messages.js'
import { registerRoomCommands } from './commands/room.js'
import { registerStartCommand } from './commands/start.js'
import { registerStatusCommands } from './commands/status.js'
import { registerUserCommands } from './commands/users.js'
import { EXIT_USAGE, reportError } from './errors.js'
import type { CliIo } from './io.js'
import { packageVersion } from './version.js'

/** Every command group, in help order. */
const COMMANDS: readonly RegisterCommands[] = [
  registerInitCommand, registerStartCommand, registerStatusCommands, registerRoomCommands, registerMessageCommands,
  registerChatCommand, registerUserCommands
]

const GLOBAL_FLAGS = ['--data-dir', '--json', '--debug']

/** Builds the program for one run (commander keeps parse state, so never reuse one). */
export function buildProgram (io: CliIo): { program: Command, ctx: CliContext } {
  const program = new Command('keyroom')
  const ctx: CliContext = { io, globals: () => program.opts<GlobalOptions>() }
  program
    .description('Serverless peer-to-peer Matrix-style messaging: users, devices and rooms are keys.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .option('--data-dir <dir>', 'data directory (default: $KEYROOM_HOME, else the platform user data directory)')
    .option('--json', 'machine-readable JSON output')
    .option('--debug', 'show stack traces on errors')
    // Global options go before the subcommand; after it, only that command's own options count.
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => { io.stdout(text) },
      writeErr: (text) => { io.stderr(text) },
      // Parse errors are reported by run() in the CLI's one-line format instead.
      outputError: () => {}
    })
  for (const register of COMMANDS) register(program, ctx)
  return { program, ctx }
}

/** Runs the CLI; resolves to the process exit code. */
export async function run (argv: readonly string[], io: CliIo): Promise<number> {
  const { program } = buildProgram(io)
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return 0
  } catch (err) {
    const debug = argv.includes('--debug')
    if (err instanceof CommanderError) return reportCommanderError(err, argv, io, program)
    return reportError(err, io, debug)
  }
}

function reportCommanderError (err: CommanderError, argv: readonly string[], io: CliIo, program: Command): number {
  // --help and --version end through exitOverride too, with exit code 0.
  if (err.exitCode === 0) return 0
  // `keyroom` alone prints the help to stderr and ends with code 'commander.help'.
  if (err.code === 'commander.help') return EXIT_USAGE
  const lines = err.message.split('\n').map((l) => l.trim()).filter((l) => l.length > 0)
  const message = (lines[0] ?? 'bad arguments').replace(/^error:\s*/u, '')
  const suggestion = lines.slice(1).join(' ').replace(/^\((.*)\)$/u, '$1')
  const misplaced = err.code === 'commander.unknownOption' && GLOBAL_FLAGS.some((f) => message.includes(`'${f}`))
  let hint: string
  if (misplaced) {
    hint = `global options (${GLOBAL_FLAGS.join(', ')}) go before the subcommand, e.g. 'keyroom --json init'`
  } else if (suggestion !== '') {
    hint = suggestion
  } else {
    const path = commandPath(program, argv)
    hint = `run 'keyroom ${path.length === 0 ? '' : `${path.join(' ')} `}--help' for usage`
  }
  io.stderr(`keyroom: ${message}\nhint: ${hint}\n`)
  return EXIT_USAGE
}

/** The (sub)command names in `argv`, in order: `['room', 'create']` for `keyroom --json room create …`. */
function commandPath (program: Command, argv: readonly string[]): string[] {
  const path: string[] = []
  let current = program
  for (const arg of argv) {
    const next = current.commands.find((c) => c.name() === arg)
    if (next === undefined) continue
    path.push(arg)
    current = next
  }
  return path
}
