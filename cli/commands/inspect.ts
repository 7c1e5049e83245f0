// `xsforge inspect FILE`: show what an ISO image (or a .treeinfo) holds, read by
// our own ISO 9660 reader, so a build's media can be checked without mounting.
import type { Command } from '@commander-js/extra-typings';
import { inspectFile, formatReport } from '../../media/inspect.ts';

export function register(program: Command): void {
  program
    .command('inspect')
    .description('show the volume, El Torito boot entries, MBR/GPT, .treeinfo and files of an ISO image, or the sections of a .treeinfo file')
    .argument('<file>', 'an ISO 9660 image or a .treeinfo file (told apart by content)')
    .option('--json', 'print the report as JSON')
    .option('--no-files', 'leave out the file list')
    .addHelpText('after', `
The kind of FILE is decided by its content: 'CD001' at byte 32769 means an ISO
image; INI text starting with a [section] line means a .treeinfo file.

Examples:
  xsforge inspect output/xs71/xenserver.iso
  xsforge inspect --no-files --json output/xs71/xenserver.iso | jq .boot
  xsforge inspect .treeinfo`)
    .action(async (file, opts) => {
      const report = await inspectFile(file, { files: opts.files });
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    });
}
