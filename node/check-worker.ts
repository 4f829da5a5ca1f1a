/**
 * The worker side of the check pool (check-pool.ts): runs the ingest checks on the events it is
 * sent and answers, per event, `null` (passed) or the reason it failed. Imports only the checks
 * and the pure core, so a worker starts small.
 */
import { parentPort } from 'node:worker_threads'
import { checkEventBytes } from './ingest-checks.js'
import type { CheckJob, CheckJobResult } from './check-pool.js'

const port = parentPort
if (port !== null) {
  port.on('message', (job: CheckJob) => {
    const reasons = job.items.map(item => {
      const check = checkEventBytes(item.bytes, { eventId: item.eventId, roomId: item.roomId })
      return check.ok ? null : check.reason
    })
    const result: CheckJobResult = { id: job.id, reasons }
    port.postMessage(result)
  })
}
