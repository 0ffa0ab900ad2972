// The storage layer's public surface, for the server, the simulator and restore.

export type { FileHandle, FileStat, FileSystem, OpenMode } from './file-system.js';
export { ensureDir, readFileChunks, readWholeFile, writeFileAtomic } from './file-system.js';
export { NodeFileSystem } from './node-file-system.js';
export { FaultyFileSystem, SECTOR_SIZE, type CrashMode, type FaultCode, type FaultOp, type FaultyFileSystemOptions } from './faulty-file-system.js';
export { CorruptionError } from './corruption-error.js';
export { StorageFailedError } from './storage-failed-error.js';
export { MemberStorage, type MemberStorageOptions, type RecoveredState, type SaveSnapshotOptions } from './member-storage.js';
export { snapshotFileName, type SnapshotChunks, type SnapshotSource, type SnapshotValidator } from './snapshot-files.js';
export { IDENTITY_FILE, readIdentity, writeIdentity, type MemberIdentity } from './identity.js';
export { DEFAULT_SEGMENT_SIZE } from './wal.js';
