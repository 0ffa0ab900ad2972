// The key-value state machine's public surface, for the server, snapshot and tools.

export type { KeyValueRecord } from './record.js';
export * from './requests.js';
export * from './kv-errors.js';
export { MvccStore, type MvccStats, type KvHashResult, type MvccStoreOptions, type FromRecordsOptions } from './mvcc-store.js';
export { ReadView } from './read-view.js';
export { KvHasher, encodeCanonicalRecord } from './kv-hash.js';
export { encodeRequest, decodeRequest, type EncodedRequest } from './request-codec.js';
export { validateRequest, DEFAULT_MAX_TXN_OPS } from './request-validate.js';
export { prefixEnd } from './key-range.js';
