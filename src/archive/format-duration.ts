// Short durations for messages ("90s", "5m0s"); the CLI has its own richer formatter.

/** 90000 -> "1m30s"; 1500 -> "1.5s". */
export function formatDurationShort(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 100) / 10}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms % 60_000) / 1000)}s`;
}
