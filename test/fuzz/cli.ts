/**
 * `npm run fuzz -- --seed S [--nodes N] [--rounds R] [--processes] [--seeds K]`: one fuzz run per
 * seed (S, S+1, … S+K-1), the report of each, exit code 1 when any failed. `--replay file.json`
 * runs a script saved from a failed run (`--save file.json` writes it). `--shrink` makes a failed
 * run's script smaller: it drops whole rounds, then single actions, keeping each drop after which
 * a run still fails one of the same invariants, and prints (and saves) the smallest script found.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { Command } from 'commander'
import { formatReport, runFuzz } from './rig.js'
import { formatAction } from './script.js'
import type { Script } from './script.js'

const program = new Command()
  .name('fuzz')
  .description('seeded convergence fuzzer: partitions, restarts and conflicting state across keyroom nodes')
  .option('--seed <n>', 'first seed', '1')
  .option('--seeds <k>', 'number of consecutive seeds', '1')
  .option('--nodes <n>', 'honest nodes', '3')
  .option('--rounds <n>', 'rounds per run', '6')
  .option('--processes', 'one child process per node; downs are kill -9')
  .option('--verbose', 'print every action as it runs')
  .option('--save <file>', 'write the script of the (last) run as JSON')
  .option('--replay <file>', 'run a saved script instead of generating one')
  .option('--shrink', 'on failure, look for a smaller script that still fails the same way')
  .parse()

const opts = program.opts<{ seed: string, seeds: string, nodes: string, rounds: string, processes?: boolean, verbose?: boolean, save?: string, replay?: string, shrink?: boolean }>()
const mode = opts.processes === true ? 'process' : 'in-process'

/** Whether `script` still fails one of `invariants` (short bounds: a shrink runs many times). */
async function stillFails (script: Script, invariants: ReadonlySet<string>): Promise<boolean> {
  const report = await runFuzz({ seed: script.seed, nodes: script.nodes, rounds: script.actions.length, script, mode, healTimeoutMs: 3_000, quiescenceTimeoutMs: 8_000, requireDivergence: false })
  return report.violations.some(v => invariants.has(v.invariant))
}

/** Greedy shrinking: rounds first, then actions (the rig's final heal and flush stay implicit). */
async function shrink (script: Script, invariants: ReadonlySet<string>): Promise<Script> {
  let best = script
  for (let r = best.actions.length - 1; r >= 0; r--) {
    const candidate = { ...best, actions: best.actions.filter((_, i) => i !== r) }
    if (candidate.actions.length > 0 && await stillFails(candidate, invariants)) {
      best = { ...candidate, rounds: candidate.actions.length }
      console.log(`  shrink: dropped round ${r} (${best.actions.flat().length} actions left)`)
    }
  }
  for (let r = 0; r < best.actions.length; r++) {
    for (let k = best.actions[r]!.length - 1; k >= 0; k--) {
      const actions = best.actions.map((round, i) => (i === r ? round.filter((_, j) => j !== k) : round))
      const candidate = { ...best, actions }
      if (await stillFails(candidate, invariants)) {
        best = candidate
        console.log(`  shrink: dropped action ${k} of round ${r} (${best.actions.flat().length} actions left)`)
      }
    }
  }
  return best
}
const first = Number(opts.seed)
const count = Number(opts.seeds)
let failed = 0
for (let seed = first; seed < first + count; seed++) {
  const script = opts.replay === undefined ? undefined : JSON.parse(await readFile(opts.replay, 'utf8')) as Script
  const report = await runFuzz({
    seed: script?.seed ?? seed,
    nodes: script?.nodes ?? Number(opts.nodes),
    rounds: script?.rounds ?? Number(opts.rounds),
    downs: opts.processes === true ? 'kill' : 'stop',
    ...(script === undefined ? {} : { script }),
    mode,
    ...(opts.verbose === true ? { log: (line: string) => { console.log(`  ${line}`) } } : {})
  })
  console.log(formatReport(report))
  let saved = report.script
  if (!report.ok && opts.shrink === true) {
    // The anti-vacuity check is about the script, not the node: a shrink keeps the other invariants.
    const invariants = new Set(report.violations.map(v => v.invariant).filter(i => i !== 'anti-vacuity'))
    saved = invariants.size === 0 ? report.script : await shrink(report.script, invariants)
    console.log(`smallest script still failing (${saved.actions.flat().length} of ${report.script.actions.flat().length} actions):`)
    for (const [r, round] of saved.actions.entries()) for (const action of round) console.log(`  r${r} ${formatAction(action)}`)
  }
  if (opts.save !== undefined) await writeFile(opts.save, JSON.stringify(saved, null, 2))
  if (!report.ok) failed++
  if (script !== undefined) break
}
process.exitCode = failed > 0 ? 1 : 0
