/**
 * libp2p's `Datastore` (interface-datastore) inside the room store's database, so the peer store
 * and DHT records live next to the rooms: one directory, one lock, one backup.
 *
 * Keys are `!datastore!` ‖ UTF-8 of `Key.toString()` — exactly the key space of the
 * `abstract-level` sublevel named `datastore`, so the LevelDB is laid out as `level` users expect.
 * Written over the same ordered key-value layer as the room store, so it runs unchanged on both
 * backends (and the same checks hold it to the contract).
 *
 * Durability: writes here are not fsynced (`sync: false`). Peer addresses and DHT records are
 * caches the network refills; they survive a process crash (LevelDB hands the write to the OS
 * before it resolves) and may lose the last moments before a power cut, which costs nothing.
 * The room store puts a write-behind cache in front of this adapter for the peer store's keys
 * (`/peers/…`, store/write-behind.ts): those writes reach LevelDB in one batch every few seconds
 * (5 s) and when the store closes, so a crash may lose the peer records of the last seconds —
 * also fine, identify and the DHT refill them. DHT keys still go straight through, as above.
 * A missing key throws `NotFoundError` (matched by name, as libp2p does).
 */
import { NotFoundError } from '@libp2p/interface'
import { BaseDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { concatBytes, fromUtf8, utf8 } from './codec.js'
import { prefixEnd } from './keys.js'
import type { KvOp, OrderedKv } from './kv.js'
import type { AbortOptions } from '@libp2p/interface'
import type { Batch, KeyQuery, Pair, Query } from 'interface-datastore'

/** The key prefix of a sublevel, as `abstract-level` builds it: `!name!`. */
export function sublevelPrefix (name: string): Uint8Array {
  return utf8(`!${name}!`)
}

/** A `Datastore` over the keys of an `OrderedKv` that start with `prefix`. */
export class KvDatastore extends BaseDatastore {
  private readonly end: Uint8Array

  constructor (private readonly kv: OrderedKv, private readonly prefix: Uint8Array) {
    super()
    const end = prefixEnd(prefix)
    if (end === undefined) throw new RangeError('datastore prefix has no upper bound')
    this.end = end
  }

  private toKey (key: Key): Uint8Array {
    return concatBytes(this.prefix, utf8(key.toString()))
  }

  private fromKey (raw: Uint8Array): Key {
    return new Key(fromUtf8(raw.subarray(this.prefix.length), 'datastore key'), false)
  }

  override async put (key: Key, val: Uint8Array, options?: AbortOptions): Promise<Key> {
    options?.signal?.throwIfAborted()
    await this.kv.write([{ type: 'put', key: this.toKey(key), value: val }], { sync: false })
    return key
  }

  override async get (key: Key, options?: AbortOptions): Promise<Uint8Array> {
    options?.signal?.throwIfAborted()
    const value = await this.kv.get(this.toKey(key))
    if (value === undefined) throw new NotFoundError(`no datastore value for ${key.toString()}`)
    return value
  }

  override async has (key: Key, options?: AbortOptions): Promise<boolean> {
    options?.signal?.throwIfAborted()
    return (await this.kv.get(this.toKey(key))) !== undefined
  }

  override async delete (key: Key, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    await this.kv.write([{ type: 'del', key: this.toKey(key) }], { sync: false })
  }

  /** One atomic LevelDB batch (the base class would commit op by op). */
  override batch (): Batch {
    const ops: KvOp[] = []
    return {
      put: (key, value) => { ops.push({ type: 'put', key: this.toKey(key), value }) },
      delete: (key) => { ops.push({ type: 'del', key: this.toKey(key) }) },
      commit: async (options?: AbortOptions) => {
        options?.signal?.throwIfAborted()
        await this.kv.write(ops.splice(0), { sync: false })
      }
    }
  }

  /** Range of a query prefix: `Key` strings and their UTF-8 bytes share prefixes. */
  private range (prefix: string | undefined): { gte: Uint8Array, lt: Uint8Array } {
    if (prefix === undefined || prefix === '') return { gte: this.prefix, lt: this.end }
    const start = concatBytes(this.prefix, utf8(prefix))
    return { gte: start, lt: prefixEnd(start) ?? this.end }
  }

  override async * _all (q: Query, options?: AbortOptions): AsyncGenerator<Pair> {
    options?.signal?.throwIfAborted()
    for await (const [key, value] of this.kv.entries(this.range(q.prefix))) {
      options?.signal?.throwIfAborted()
      yield { key: this.fromKey(key), value }
    }
  }

  override async * _allKeys (q: KeyQuery, options?: AbortOptions): AsyncGenerator<Key> {
    options?.signal?.throwIfAborted()
    for await (const key of this.kv.keys(this.range(q.prefix))) {
      options?.signal?.throwIfAborted()
      yield this.fromKey(key)
    }
  }
}
