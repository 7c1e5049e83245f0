// Runs `xsforge cache ...` from cli/commands/cache.ts alone, as bin/xsforge
// would once the command is in cli/commands/index.ts: tests of the cache
// command need no bundle of the whole CLI.
// Usage: node --import tsx tests/lib/cache-cli.ts cache ls --cache DIR
import { Command } from '@commander-js/extra-typings';
import { register } from '../../cli/commands/cache.ts';
import { XsforgeError } from '../../core/errors.ts';

const program = new Command('xsforge');
register(program);
try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`xsforge: error: ${(err as Error).message}\n`);
  if (err instanceof XsforgeError && err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
  process.exitCode = 1;
}
