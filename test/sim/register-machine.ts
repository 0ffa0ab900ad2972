// The simulated members' replicated state machine: a map of registers. Commands are small JSON
// documents carried in normal entries; the snapshot is the map as JSON text, which is immutable
// and therefore safe to share between members through a simulated InstallSnapshot.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A put issued by client `c` as its operation `o`: set key `k` to value `v`. */
export interface PutCommand {
  readonly c: number;
  readonly o: number;
  readonly k: string;
  readonly v: string;
}

/** Encodes a put for a raft proposal. */
export function encodePut(cmd: PutCommand): Uint8Array {
  return encoder.encode(JSON.stringify(cmd));
}

/** Decodes a normal entry's data; null for the empty no-op a new leader appends. */
export function decodePut(data: Uint8Array): PutCommand | null {
  if (data.length === 0) return null;
  return JSON.parse(decoder.decode(data)) as PutCommand;
}

/** A map of registers, applied from committed entries in log order. */
export class RegisterMachine {
  private data = new Map<string, string>();

  /** Applies one put. */
  apply(cmd: PutCommand): void {
    this.data.set(cmd.k, cmd.v);
  }

  /** Reads a register; null when it was never written. */
  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  /** The whole state as canonical JSON (keys sorted), used for snapshots and for comparison. */
  snapshot(): string {
    return JSON.stringify([...this.data.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
  }

  /** Replaces the state with a snapshot's. */
  restore(snapshot: string): void {
    this.data = new Map(JSON.parse(snapshot) as [string, string][]);
  }
}

/** The snapshot of an empty machine: what a brand new member's genesis snapshot carries. */
export const EMPTY_MACHINE_SNAPSHOT = '[]';
