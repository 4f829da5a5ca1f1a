/**
 * `npm run bench`: every benchmark, printing figures and ratios against baselines measured in the
 * same run. Select sections with arguments, e.g. `npm run bench -- crypto`.
 */
import { runCryptoBench } from './crypto.js'
import { runDirectoryBench } from './directory.js'
import { runGossipBench } from './gossip.js'
import { runNodeBench } from './node.js'
import { runRoomBench } from './room.js'
import { runStoreBench } from './store.js'

const sections: Record<string, () => void | Promise<void>> = {
  crypto: runCryptoBench,
  room: runRoomBench,
  store: runStoreBench,
  directory: async () => { await runDirectoryBench() },
  node: async () => { await runNodeBench() },
  gossip: async () => { await runGossipBench() }
}

const wanted = process.argv.slice(2).filter(a => !a.startsWith('-'))
console.log(`keyroom benchmarks — Node ${process.version}, ${new Date().toISOString()}`)
for (const [name, run] of Object.entries(sections)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue
  await run()
}
