/**
 * Small statistics and waiting helpers shared by the network benchmarks (node, gossip).
 */
import { performance } from 'node:perf_hooks'

/** Median and 99th percentile (and extremes) of a set of samples, in the samples' unit. */
export interface Summary {
  n: number
  p50: number
  p99: number
  min: number
  max: number
}

/** The `q` quantile of ascending `sorted`, without interpolation (the harness's definition). */
export function percentile (sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

/** p50/p99/min/max of `samples` (not modified). */
export function summarize (samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b)
  return { n: sorted.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), min: sorted[0] ?? NaN, max: sorted[sorted.length - 1] ?? NaN }
}

/** One aligned line: a label and its p50/p99 in milliseconds. */
export function latencyLine (label: string, s: Summary, unit = 'ms'): void {
  const f = (v: number): string => v.toFixed(unit === 'ms' ? 2 : 0).padStart(8)
  console.log(`  ${label.padEnd(52)} p50 ${f(s.p50)} ${unit}   p99 ${f(s.p99)} ${unit}   (n ${s.n}, max ${s.max.toFixed(1)})`)
}

/** One aligned line of free text after a label. */
export function infoLine (label: string, text: string): void {
  console.log(`  ${label.padEnd(52)} ${text}`)
}

/** Poll `predicate` every `intervalMs` until it holds; throws after `timeoutMs` naming `what`. */
export async function waitUntil (predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 10): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await predicate())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(intervalMs)
  }
}

/** Resolve after `ms`. */
export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** Collects garbage when the bench runs with `--expose-gc` (`npm run bench` does). */
export function collectGarbage (): void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) gc()
}
