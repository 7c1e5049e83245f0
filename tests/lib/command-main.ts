// Runs one command module (cli/commands/<name>.ts) as `xsforge` would, for tests of
// commands that cli/commands/index.ts does not list yet:
//   node --import tsx tests/lib/command-main.ts cli/commands/serve.ts serve DIR --port 0
import { Command } from '@commander-js/extra-typings';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { reportError } from '../../cli/main.ts';

const [modulePath, ...args] = process.argv.slice(2);
const mod = await import(pathToFileURL(resolve(modulePath!)).href);
const program = new Command('xsforge');
mod.register(program);
try {
  await program.parseAsync(args, { from: 'user' });
} catch (err) {
  process.exitCode = reportError(err);
}
