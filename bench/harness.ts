/**
 * A small benchmark harness: warm up, then run batches until a time budget is spent, and report
 * throughput and per-operation latency percentiles (per batch).
 */
import { performance } from 'node:perf_hooks'

export interface Measurement {
  name: string
  /** Operations per second over the measured batches. */
  opsPerSec: number
  /** Mean microseconds per operation. */
  usPerOp: number
  /** Median and 99th percentile of per-batch microseconds per operation. */
  p50us: number
  p99us: number
  ops: number
}

export interface MeasureOptions {
  /** Operations per batch (default 100). */
  batch?: number
  /** Time budget in milliseconds for the measured phase (default 1000). */
  budgetMs?: number
  /** Warm-up batches (default 5). */
  warmup?: number
}

function percentile (sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.floor(q * sorted.length))
  return sorted[i]!
}

/** Measure a synchronous operation. `fn(i)` runs once per operation. */
export function measure (name: string, fn: (i: number) => unknown, options: MeasureOptions = {}): Measurement {
  const batch = options.batch ?? 100
  const budgetMs = options.budgetMs ?? 1000
  let i = 0
  for (let w = 0; w < (options.warmup ?? 5); w++) {
    for (let j = 0; j < batch; j++) fn(i++)
  }
  const perBatch: number[] = []
  let ops = 0
  const start = performance.now()
  let now = start
  while (now - start < budgetMs) {
    const t0 = performance.now()
    for (let j = 0; j < batch; j++) fn(i++)
    now = performance.now()
    perBatch.push(((now - t0) * 1000) / batch)
    ops += batch
  }
  const elapsed = now - start
  perBatch.sort((a, b) => a - b)
  return {
    name,
    opsPerSec: (ops / elapsed) * 1000,
    usPerOp: (elapsed * 1000) / ops,
    p50us: percentile(perBatch, 0.5),
    p99us: percentile(perBatch, 0.99),
    ops
  }
}

/** Time one run of an operation (sync or async), in milliseconds. */
export async function timeOnce (fn: () => unknown): Promise<number> {
  const t0 = performance.now()
  await fn()
  return performance.now() - t0
}

/** Print a measurement as one aligned line. */
export function report (m: Measurement): void {
  console.log(`  ${m.name.padEnd(52)} ${m.opsPerSec.toFixed(0).padStart(9)} ops/s  ${m.usPerOp.toFixed(2).padStart(9)} µs/op  (p50 ${m.p50us.toFixed(2)} µs, p99 ${m.p99us.toFixed(2)} µs)`)
}

/** Print a ratio against a target, with a PASS/MISS verdict. */
export function ratio (label: string, value: number, target: string, ok: boolean): void {
  console.log(`  ${label.padEnd(52)} ${value.toFixed(3).padStart(9)}       target ${target}  ${ok ? 'PASS' : 'MISS'}`)
}

/**
 * Measure two operations in alternating batches, so both see the same machine load (the other
 * core may be busy): ratios between them are then meaningful even on a noisy machine. Returns
 * both measurements; compare their `p50us` (median per-batch cost) for a robust ratio.
 */
export function measureInterleaved (
  a: { name: string, fn: (i: number) => unknown, batch?: number },
  b: { name: string, fn: (i: number) => unknown, batch?: number },
  options: { budgetMs?: number, warmup?: number } = {}
): [Measurement, Measurement] {
  const budgetMs = options.budgetMs ?? 2000
  const sides = [a, b].map(s => ({ ...s, batch: s.batch ?? 100, perBatch: [] as number[], ops: 0, elapsed: 0 }))
  let i = 0
  for (let w = 0; w < (options.warmup ?? 5); w++) {
    for (const s of sides) for (let j = 0; j < s.batch; j++) s.fn(i++)
  }
  const start = performance.now()
  while (performance.now() - start < budgetMs) {
    for (const s of sides) {
      const t0 = performance.now()
      for (let j = 0; j < s.batch; j++) s.fn(i++)
      const dt = performance.now() - t0
      s.perBatch.push((dt * 1000) / s.batch)
      s.ops += s.batch
      s.elapsed += dt
    }
  }
  const out = sides.map(s => {
    s.perBatch.sort((x, y) => x - y)
    return {
      name: s.name,
      opsPerSec: (s.ops / s.elapsed) * 1000,
      usPerOp: (s.elapsed * 1000) / s.ops,
      p50us: percentile(s.perBatch, 0.5),
      p99us: percentile(s.perBatch, 0.99),
      ops: s.ops
    }
  })
  return [out[0]!, out[1]!]
}
