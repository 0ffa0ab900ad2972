// Retention policies in restic's model: a snapshot is kept when any rule keeps it; every
// kept snapshot says which rules kept it. Time buckets are UTC calendar units of the
// snapshot's creation time. Pure: no I/O, no clock (the caller passes `now` where needed).
import { UnsafeOperationError, UsageError } from '../errors.js';

export interface RetentionPolicy {
  readonly keepLast?: number;
  readonly keepHourly?: number;
  readonly keepDaily?: number;
  readonly keepWeekly?: number;
  readonly keepMonthly?: number;
  /** Keep everything created within this many milliseconds before the newest snapshot. */
  readonly keepWithinMs?: number;
}

/** The fields retention needs of a snapshot. */
export interface RetentionCandidate {
  readonly id: string;
  readonly createdAt: Date;
  readonly clusterId: string;
  /** A snapshot whose save-time verification passed (every listed snapshot, unless its manifest says otherwise). */
  readonly verified: boolean;
}

export interface RetentionDecision<T extends RetentionCandidate> {
  readonly snapshot: T;
  readonly keep: boolean;
  /** Why it is kept ("last 3", "daily 2026-11-24", "newest verified", ...); empty when deleted. */
  readonly reasons: readonly string[];
}

type Bucketer = (date: Date) => string;

const BUCKET_RULES: readonly { name: string; field: keyof RetentionPolicy; bucket: Bucketer }[] = [
  { name: 'hourly', field: 'keepHourly', bucket: (d) => d.toISOString().slice(0, 13) },
  { name: 'daily', field: 'keepDaily', bucket: (d) => d.toISOString().slice(0, 10) },
  { name: 'weekly', field: 'keepWeekly', bucket: isoWeek },
  { name: 'monthly', field: 'keepMonthly', bucket: (d) => d.toISOString().slice(0, 7) },
];

/** Refuses a policy that would keep nothing, or that has negative or fractional counts. */
export function validatePolicy(policy: RetentionPolicy): void {
  const counts: [string, number | undefined][] = [
    ['--keep-last', policy.keepLast],
    ['--keep-hourly', policy.keepHourly],
    ['--keep-daily', policy.keepDaily],
    ['--keep-weekly', policy.keepWeekly],
    ['--keep-monthly', policy.keepMonthly],
  ];
  for (const [flag, value] of counts) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new UsageError(`${flag} must be a whole number >= 0, got ${value}`, `for example ${flag} 7`);
    }
  }
  const within = policy.keepWithinMs;
  if (within !== undefined && (!Number.isFinite(within) || within < 0)) {
    throw new UsageError(`--keep-within must be a positive duration`, 'for example --keep-within 7d');
  }
  const keepsSomething = counts.some(([, v]) => (v ?? 0) > 0) || (within ?? 0) > 0;
  if (!keepsSomething) {
    throw new UnsafeOperationError(
      'refusing a retention policy that keeps nothing',
      'give at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly or --keep-within',
    );
  }
}

/**
 * Decides, for every snapshot, whether the policy keeps it. Snapshots of different clusters
 * are judged separately, so two clusters sharing a repository never prune each other.
 * Throws UnsafeOperationError rather than return a plan that deletes every snapshot of a cluster.
 */
export function applyRetention<T extends RetentionCandidate>(snapshots: readonly T[], policy: RetentionPolicy): RetentionDecision<T>[] {
  validatePolicy(policy);
  const byCluster = new Map<string, T[]>();
  for (const s of snapshots) {
    const list = byCluster.get(s.clusterId) ?? [];
    list.push(s);
    byCluster.set(s.clusterId, list);
  }
  const decisions: RetentionDecision<T>[] = [];
  for (const [clusterId, list] of byCluster) {
    const clusterDecisions = decideForCluster(list, policy);
    if (clusterDecisions.every((d) => !d.keep)) {
      throw new UnsafeOperationError(
        `refusing to delete every snapshot of cluster ${clusterId}`,
        'check the policy; at least one snapshot of each cluster must survive a prune',
      );
    }
    decisions.push(...clusterDecisions);
  }
  return decisions.sort((a, b) => compareNewestFirst(a.snapshot, b.snapshot));
}

function decideForCluster<T extends RetentionCandidate>(snapshots: readonly T[], policy: RetentionPolicy): RetentionDecision<T>[] {
  const newestFirst = [...snapshots].sort(compareNewestFirst);
  const reasons = new Map<T, string[]>(newestFirst.map((s) => [s, []]));

  const keepLast = policy.keepLast ?? 0;
  newestFirst.slice(0, keepLast).forEach((s, i) => reasons.get(s)!.push(`last ${i + 1}`));

  for (const rule of BUCKET_RULES) {
    const limit = (policy[rule.field] as number | undefined) ?? 0;
    let kept = 0;
    let lastBucket: string | undefined;
    for (const s of newestFirst) {
      if (kept >= limit) break;
      const bucket = rule.bucket(s.createdAt);
      if (bucket === lastBucket) continue;
      lastBucket = bucket;
      kept++;
      reasons.get(s)!.push(`${rule.name} ${bucket}`);
    }
  }

  if (policy.keepWithinMs !== undefined && policy.keepWithinMs > 0 && newestFirst.length > 0) {
    // Relative to the newest snapshot, not to now: if backups stop, a prune must not age
    // every snapshot out of the window.
    const cutoff = newestFirst[0]!.createdAt.getTime() - policy.keepWithinMs;
    for (const s of newestFirst) {
      if (s.createdAt.getTime() >= cutoff) reasons.get(s)!.push('within window');
    }
  }

  const newestVerified = newestFirst.find((s) => s.verified);
  if (newestVerified) reasons.get(newestVerified)!.push('newest verified');

  return newestFirst.map((s) => {
    const r = reasons.get(s)!;
    return { snapshot: s, keep: r.length > 0, reasons: r };
  });
}

function compareNewestFirst(a: RetentionCandidate, b: RetentionCandidate): number {
  const byTime = b.createdAt.getTime() - a.createdAt.getTime();
  return byTime !== 0 ? byTime : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** ISO-8601 week of a UTC date, as "2026-W48" (weeks start on Monday; week 1 holds the first Thursday). */
export function isoWeek(date: Date): string {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const dayOfWeek = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - dayOfWeek); // the Thursday of this week decides the year
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}
