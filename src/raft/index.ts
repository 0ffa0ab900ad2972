// The raft core's public surface. Pure: nothing here imports outside src/raft.
export type { RaftConfig, RaftStatus, ProgressStatus } from './config.js';
export { RawNode } from './raw-node.js';
export { MemoryStorage } from './memory-storage.js';
export { ProposalDroppedError, CompactedError, UnavailableError, SnapshotOutOfDateError } from './errors.js';
export { encodeConfChange, decodeConfChange } from './conf-change-codec.js';
export { ProgressState } from './progress.js';
export * from './types.js';
