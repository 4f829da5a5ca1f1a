/**
 * The keyroom package root: the embedding API and the pure room protocol.
 */
export * from '../protocols/core/index.js'
