// What the harness needs from each system under test, so that Lifeboat and etcd run exactly the
// same workloads through the same driver.

/** Puts and linearizable reads through the system's own best client. */
export interface KvDriver {
  put(key: Buffer, value: Buffer): Promise<void>;
  /** A linearizable read of one key. */
  get(key: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** One timed snapshot save: wall seconds and the peak RSS of the saving process(es). */
export interface SaveRun {
  readonly seconds: number;
  readonly peakRssMiB: number;
  /** Bytes of the stored (compressed) result. */
  readonly storedBytes: number;
  /** Per-step timings and memory, for the details section. */
  readonly detail: Record<string, number>;
}

/** One timed restore: from the first restore command until the new cluster serves. */
export interface RestoreRun {
  readonly seconds: number;
  /** Seconds spent building the three data directories (before any member starts). */
  readonly restoreSeconds: number;
  readonly peakRssMiB: number;
}

/** A system under test: Lifeboat or etcd. */
export interface BenchSide {
  readonly name: 'lifeboat' | 'etcd';
  /** Starts a fresh 3-member cluster and waits for a leader. */
  start(): Promise<void>;
  /** A client on the running cluster. */
  driver(): Promise<KvDriver>;
  /** The member processes, for memory readings. */
  memberPids(): readonly number[];
  /** Saves a snapshot of the running cluster (run = 0, 1, ...). */
  save(run: number): Promise<SaveRun>;
  /** Stops the running cluster (data kept until dispose). */
  stop(): Promise<void>;
  /** Restores the last saved snapshot into a fresh 3-member cluster, waits until it serves, stops it. */
  restore(run: number): Promise<RestoreRun>;
  /** Recent log lines of the members, printed when a workload fails. */
  diagnostics(): string;
  /** Stops everything and removes every file the side made. */
  dispose(): Promise<void>;
}
