// Flag values shared by several commands, checked before anything runs (exit 2 naming the flag).
import { UsageError } from '../errors.js';

/** A `--cluster` value: the 16 hex digits of a cluster ID, as `snapshot list` shows them. */
export function clusterIdFlag(value: string | undefined): string | undefined {
  if (value === undefined || /^[0-9a-f]{16}$/.test(value)) return value;
  throw new UsageError(`--cluster ${value} is not a cluster ID`, 'give the 16 hex digits shown in the cluster column of lifeboat snapshot list');
}
