/**
 * How commands reach the running node of their data directory, and print what it answers: JSON
 * (one document) with `--json`, text for people otherwise.
 */
import { dataDirOf } from './context.js'
import type { CliContext } from './context.js'
import { connectControl } from './control/client.js'
import type { ControlClient } from './control/client.js'
import type { ControlMethod } from './control/protocol.js'
import { controlSocketPath } from './control/socket-path.js'

/** Connects to the node of this run's data directory (`ERR_NO_RUNNING_NODE` when none runs). */
export async function openNode (ctx: CliContext): Promise<ControlClient> {
  const dataDir = dataDirOf(ctx)
  return await connectControl({ dataDir, path: controlSocketPath(dataDir, ctx.io.platform) })
}

/** One request to the running node, on a connection of its own. */
export async function callNode<T> (ctx: CliContext, method: ControlMethod, params: Record<string, unknown> = {}, options: { timeoutMs?: number } = {}): Promise<T> {
  const client = await openNode(ctx)
  try {
    return await client.request<T>(method, params, options)
  } finally {
    client.close()
  }
}

/** Prints `value` as one JSON document with `--json`, else the text `human()` returns. */
export function output (ctx: CliContext, value: unknown, human: () => string): void {
  if (ctx.globals().json === true) ctx.io.stdout(JSON.stringify(value) + '\n')
  else {
    const text = human()
    if (text !== '') ctx.io.stdout(text.endsWith('\n') ? text : text + '\n')
  }
}
