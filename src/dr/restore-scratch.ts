// Scratch paths of restores, drills and the demo (half-built data directories, downloaded
// archives, throwaway clusters, spools). Each job removes its own on success, failure and the
// first Ctrl-C; this registry is for the exits that skip that asynchronous cleanup (a second
// Ctrl-C, process.exit from anywhere): it removes whatever is still registered, synchronously,
// from the process's 'exit' event.
import { rmSync } from 'node:fs';

const paths = new Map<number, string>();
let nextId = 0;
let installed = false;

/** Removes every registered path now, synchronously; safe to call more than once. */
export function removeScratchSync(): void {
  for (const [id, path] of [...paths].reverse()) {
    try {
      // A member killed a moment ago may still be closing a file in there: retry briefly.
      rmSync(path, { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
    } catch {
      // Exiting anyway; nothing better to do than leave what could not be removed.
    }
    paths.delete(id);
  }
}

/**
 * Registers a path to remove if the process exits before the job does so itself; returns
 * the function that unregisters it (call it once the job removed the path, or committed it).
 */
export function trackScratch(path: string): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', removeScratchSync);
  }
  const id = nextId++;
  paths.set(id, path);
  return () => {
    paths.delete(id);
  };
}

/** The paths registered now (for tests). */
export function scratchPaths(): string[] {
  return [...paths.values()];
}
