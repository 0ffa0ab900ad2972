// Placeholder until the retention engineer lands this command group.
import type { Command } from 'commander';

/** Registers this group's commands on the given parent command. */
export function registerSnapshotPruneCommand(_parent: Command): void {}
