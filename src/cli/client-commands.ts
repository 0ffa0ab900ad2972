// Placeholder until the member server engineer lands this command group.
import type { Command } from 'commander';

/** Registers this group's commands on the given parent command. */
export function registerClientCommands(_parent: Command): void {}
