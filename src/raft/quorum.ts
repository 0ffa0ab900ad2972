// Majority quorum math, kept apart so the rules that decide commitment and elections are
// small enough to check by eye. Only voters are ever passed in; learners never count.
import type { NodeId } from './types.js';

export enum VoteResult {
  Pending = 0,
  Lost = 1,
  Won = 2,
}

// Reused between calls: the leader recomputes the committed index on every ack.
let scratch = new Float64Array(8);

/**
 * The largest index that a majority of `voters` have acknowledged (`acked` returns
 * undefined for a voter that has acked nothing). An empty voter set commits nothing.
 */
export function committedIndex(voters: readonly NodeId[], acked: (id: NodeId) => number | undefined): number {
  const n = voters.length;
  if (n === 0) return 0;
  if (scratch.length < n) scratch = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) scratch[i] = acked(voters[i]!) ?? 0;
  // Insertion sort, ascending: n is tiny (a handful of voters).
  for (let i = 1; i < n; i++) {
    const v = scratch[i]!;
    let j = i - 1;
    while (j >= 0 && scratch[j]! > v) {
      scratch[j + 1] = scratch[j]!;
      j--;
    }
    scratch[j + 1] = v;
  }
  // The value at this position is held by at least a majority (it and everything above it).
  return scratch[n - (Math.floor(n / 2) + 1)]!;
}

/**
 * Whether `votes` (true = granted) win, lose, or cannot yet decide an election among
 * `voters`. Votes from non-voters are ignored. An empty voter set wins, by convention.
 */
export function voteResult(voters: readonly NodeId[], votes: (id: NodeId) => boolean | undefined): VoteResult {
  const n = voters.length;
  if (n === 0) return VoteResult.Won;
  let granted = 0;
  let rejected = 0;
  for (let i = 0; i < n; i++) {
    const v = votes(voters[i]!);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const q = Math.floor(n / 2) + 1;
  if (granted >= q) return VoteResult.Won;
  if (n - rejected >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}
