// Placeholder until the drill engineer lands this command group.
import type { Command } from 'commander';

/** Registers this group's commands on the given parent command. */
export function registerDemoCommand(_parent: Command): void {}
