/**
 * The bounded publish queue: one task at a time, in order, waiting (not dropping) when full,
 * and every wait cancellable.
 */
import { describe, expect, it } from 'vitest'
import { SerialQueue } from '../../../protocols/gossip/index.js'

/** A task that finishes when told to. */
function gate (): { task: () => Promise<string>, open: (v: string) => void } {
  let open!: (v: string) => void
  const done = new Promise<string>(resolve => { open = resolve })
  return { task: async () => await done, open }
}

const tick = async (): Promise<void> => { await new Promise(resolve => setTimeout(resolve, 0)) }

describe('SerialQueue', () => {
  it('runs tasks one at a time in the order added', async () => {
    const q = new SerialQueue(10)
    const order: number[] = []
    let active = 0
    let maxActive = 0
    const results = await Promise.all([1, 2, 3, 4, 5].map(async n => await q.add(async () => {
      active++
      maxActive = Math.max(maxActive, active)
      await tick()
      order.push(n)
      active--
      return n * 10
    })))
    expect(results).toEqual([10, 20, 30, 40, 50])
    expect(order).toEqual([1, 2, 3, 4, 5])
    expect(maxActive).toBe(1)
  })

  it('runs urgent tasks after the running one and ahead of queued ordinary ones, urgent ones in their own order', async () => {
    const q = new SerialQueue(10)
    const order: string[] = []
    const first = gate()
    const running = q.add(first.task)
    const add = async (name: string, urgent: boolean): Promise<void> => { await q.add(async () => { order.push(name) }, { urgent }) }
    const all = [add('a', false), add('b', false), add('U1', true), add('c', false), add('U2', true)]
    await tick()
    expect(order).toEqual([]) // the running task is never overtaken
    first.open('done')
    await running
    await Promise.all(all)
    expect(order).toEqual(['U1', 'U2', 'a', 'b', 'c'])
  })

  it('makes callers wait when full, and admits them first-come first-served', async () => {
    const q = new SerialQueue(2)
    const first = gate()
    const p1 = q.add(first.task)
    const p2 = q.add(async () => 'two')
    const admitted: string[] = []
    const p3 = q.add(async () => { admitted.push('three'); return 'three' })
    const p4 = q.add(async () => { admitted.push('four'); return 'four' })
    await tick()
    expect(q.size).toBe(2)
    expect(q.waiting).toBe(2)
    first.open('one')
    expect(await Promise.all([p1, p2, p3, p4])).toEqual(['one', 'two', 'three', 'four'])
    expect(admitted).toEqual(['three', 'four'])
  })

  it('rejects a waiting caller with its abort reason and keeps the others', async () => {
    const q = new SerialQueue(1)
    const first = gate()
    const p1 = q.add(first.task)
    const controller = new AbortController()
    const p2 = q.add(async () => 'never', { signal: controller.signal })
    const p3 = q.add(async () => 'three')
    controller.abort(new Error('gave up'))
    await expect(p2).rejects.toThrow('gave up')
    first.open('one')
    expect(await Promise.all([p1, p3])).toEqual(['one', 'three'])
  })

  it('rejects a queued (not yet running) task when its signal aborts', async () => {
    const q = new SerialQueue(5)
    const first = gate()
    const p1 = q.add(first.task)
    const controller = new AbortController()
    let ran = false
    const p2 = q.add(async () => { ran = true }, { signal: controller.signal })
    controller.abort(new Error('not needed'))
    await expect(p2).rejects.toThrow('not needed')
    first.open('one')
    await p1
    expect(ran).toBe(false)
  })

  it('close() rejects queued and waiting callers and refuses new ones; reports idleness', async () => {
    let idle = 0
    const q = new SerialQueue(1, () => { idle++ })
    const first = gate()
    const p1 = q.add(first.task)
    const p2 = q.add(async () => 'two')
    q.close(new Error('stopped'))
    await expect(p2).rejects.toThrow('stopped')
    await expect(q.add(async () => 'late')).rejects.toThrow('stopped')
    first.open('one')
    expect(await p1).toBe('one')
    await tick()
    expect(idle).toBe(1)
  })
})
