// Errors of the raft core. The core imports nothing outside src/raft, so these are plain
// Error subclasses; the server maps them onto the typed errors of src/errors.ts.

/** A proposal (or ReadIndex) was refused: no leader, a leader transfer, or a pending conf change. */
export class ProposalDroppedError extends Error {
  constructor(message = 'raft proposal dropped') {
    super(message);
    this.name = 'ProposalDroppedError';
  }
}

/** The requested index is older than the first index still in the log (it was compacted). */
export class CompactedError extends Error {
  constructor(message = 'requested index is unavailable due to compaction') {
    super(message);
    this.name = 'CompactedError';
  }
}

/** The requested index is newer than the last index in the log. */
export class UnavailableError extends Error {
  constructor(message = 'requested entry at index is unavailable') {
    super(message);
    this.name = 'UnavailableError';
  }
}

/** A snapshot older than the one the storage already holds was offered. */
export class SnapshotOutOfDateError extends Error {
  constructor(message = 'requested index is older than the existing snapshot') {
    super(message);
    this.name = 'SnapshotOutOfDateError';
  }
}
