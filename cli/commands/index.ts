// Registry of commands; add a line per command module.
import type { Command } from '@commander-js/extra-typings';

export type Register = (program: Command) => void;

export const commands: Register[] = [];
