/**
 * Fixtures of the room-engine tests (no network, in-memory store).
 */
import type { RoomEngine } from '../../node/room-engine.js'
import type { RoomContext } from '../../node/index.js'
import type { RoomStore } from '../../store/index.js'

/** A builder context on all the room's heads, as a local send would use (depth one above the deepest). */
export function headContext (engine: RoomEngine, store: RoomStore, roomId: string): () => Promise<RoomContext> {
  return async () => {
    const view = (await engine.room(roomId))!
    const depths = await Promise.all(view.heads.map(async h => (await store.getEvent(h))!.depth))
    return { roomId, prevEvents: [...view.heads], depth: Math.max(...depths) + 1, state: view.stateView(view.current) }
  }
}
