// Placeholder until the member server engineer lands this command group.
import type { Command } from 'commander';

/** Registers this group's commands on the given parent command. */
export function registerServeCommand(_parent: Command): void {}
