// Placeholder until the backup engineer lands this command group.
import type { Command } from 'commander';

/** Registers this group's commands on the given parent command. */
export function registerSnapshotSaveCommand(_parent: Command): void {}
