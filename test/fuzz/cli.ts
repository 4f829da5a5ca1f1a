/**
 * `npm run fuzz -- --seed S [--nodes N] [--rounds R] [--processes] [--seeds K]`: one fuzz run per
 * seed (S, S+1, … S+K-1), the report of each, exit code 1 when any failed. `--replay file.json`
 * runs a script saved from a failed run (`--save file.json` writes it).
 */
import { readFile, writeFile } from 'node:fs/promises'
import { Command } from 'commander'
import { formatReport, runFuzz } from './rig.js'
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
  .parse()

const opts = program.opts<{ seed: string, seeds: string, nodes: string, rounds: string, processes?: boolean, verbose?: boolean, save?: string, replay?: string }>()
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
    mode: opts.processes === true ? 'process' : 'in-process',
    ...(opts.verbose === true ? { log: (line: string) => { console.log(`  ${line}`) } } : {})
  })
  console.log(formatReport(report))
  if (opts.save !== undefined) await writeFile(opts.save, JSON.stringify(report.script, null, 2))
  if (!report.ok) failed++
  if (script !== undefined) break
}
process.exitCode = failed > 0 ? 1 : 0
