/**
 * The seeded convergence fuzzer inside `npm test`, on a small fixed budget: three nodes, six
 * rounds, two seeds in this process (graceful stops and restarts; seed 10 also revokes a device)
 * and one seed with one child process per node (`kill -9` and restart). `npm run fuzz -- --seed S --nodes N --rounds R` runs
 * any other budget; failing seeds found that way are regression tests in `regressions.test.ts`.
 *
 * The seeds here were chosen because they exercise the rig: each partitions the network with
 * conflicting state on both sides, and takes a node down and back.
 */
import { describe, expect, it } from 'vitest'
import { RoomEventType, parseStateMapKey } from '../../node/index.js'
import { formatReport, runFuzz } from './rig.js'
import type { FuzzReport } from './rig.js'

/** Fails with the seed, the violations and the action log that reproduces the run. */
function expectConverged (report: FuzzReport): void {
  if (!report.ok) expect.fail(formatReport(report))
  expect(report.episodes.some(e => e.diverged)).toBe(true)
  expect(report.records.some(r => r.action.op === 'stop' || r.action.op === 'kill')).toBe(true)
  expect(report.quiescenceMs).toBeDefined()
  // Every node ends with the same room: at least the room's creation and everyone's flush.
  const [first] = report.finalRooms
  expect(first?.accepted.size ?? 0).toBeGreaterThan(10)
}

describe('seeded convergence fuzzer', () => {
  it('seed 2: three in-process nodes, six rounds of partitions, stops and conflicting state, converge', async () => {
    expectConverged(await runFuzz({ seed: 2, nodes: 3, rounds: 6, downs: 'stop' }))
  }, 90_000)

  it('seed 10: three in-process nodes, six rounds with a ban across a partition and a device revocation, converge', async () => {
    const report = await runFuzz({ seed: 10, nodes: 3, rounds: 6, downs: 'stop' })
    expectConverged(report)
    // n1 revoked its spare device: the revocation is in every node's resolved state.
    const revoke = report.records.find(r => r.action.op === 'revoke')
    expect(revoke).toMatchObject({ outcome: 'ok', detail: 'recorded in 1 room(s)' })
    for (const room of report.finalRooms) {
      const records = [...room.state].filter(([key]) => parseStateMapKey(key)[0] === RoomEventType.Device).map(([, id]) => room.events.get(id))
      expect(records.some(r => r?.content.revocation !== undefined)).toBe(true)
    }
  }, 90_000)

  it('seed 2, node processes: kill -9 and restart on the same data dir lose no acknowledged event, and the nodes converge', async () => {
    expectConverged(await runFuzz({ seed: 2, nodes: 3, rounds: 6, downs: 'kill', mode: 'process' }))
  }, 120_000)
})
