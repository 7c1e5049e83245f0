// xsforge command line: the one place that knows every stage family.
// Each command lives in cli/commands/<name>.ts and exports register(program).
import { Command } from '@commander-js/extra-typings';
import { XsforgeError } from '../core/errors.ts';
import { commands } from './commands/index.ts';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('xsforge')
    .description('Build install media for a Xen hypervisor appliance (XenServer 7.1 LTSR model)')
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)');
  for (const register of commands) register(program);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportError(err);
  }
}

export function reportError(err: unknown): number {
  if (err instanceof XsforgeError) {
    process.stderr.write(`xsforge: error: ${err.message}\n`);
    if (err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
    return 1;
  }
  process.stderr.write(`xsforge: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
  return 70;
}
