// Placeholder until the restore engineer lands this command group.
import type { Command } from 'commander';

/** Registers this group's commands on the given parent command. */
export function registerSnapshotRestoreCommand(_parent: Command): void {}
