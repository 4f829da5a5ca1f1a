/**
 * The ordered key-value store both backends provide: byte keys in memcmp order, atomic batches,
 * range scans. The room store (`room-store.ts`) is written once against it, so the in-memory and
 * LevelDB stores run the same logic and differ only here.
 */

/** One write of a batch. */
export type KvOp =
  | { readonly type: 'put', readonly key: Uint8Array, readonly value: Uint8Array }
  | { readonly type: 'del', readonly key: Uint8Array }

/** A key range; bounds are byte strings compared with memcmp. Set at most one lower and one upper bound. */
export interface KvRange {
  readonly gt?: Uint8Array
  readonly gte?: Uint8Array
  readonly lt?: Uint8Array
  readonly lte?: Uint8Array
  /** Descending order. */
  readonly reverse?: boolean
  /** Most entries returned. */
  readonly limit?: number
}

export interface OrderedKv {
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>>
  /** Entries of a range in order (a consistent snapshot where the backend offers one). */
  entries(range: KvRange): AsyncIterable<[Uint8Array, Uint8Array]>
  /** Keys only. */
  keys(range: KvRange): AsyncIterable<Uint8Array>
  /** Applies every op or none; resolves once the batch is written (fsynced when `sync`). */
  write(ops: readonly KvOp[], options: { sync: boolean }): Promise<void>
  close(): Promise<void>
}
