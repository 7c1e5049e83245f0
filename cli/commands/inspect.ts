// `xsforge inspect FILE`: show what an ISO image (or a .treeinfo) holds, read by
// our own ISO 9660 reader, so a build's media can be checked without mounting.
import type { Command } from '@commander-js/extra-typings';
import { open, readFile } from 'node:fs/promises';
import { inspectFile, formatReport } from '../../media/inspect.ts';
import { formatRpmInfo, isRpm, parseRpm } from '../../packages/rpm-header.ts';

/** The first bytes of a file (an RPM lead is 96 bytes; 4 tell it apart). */
async function head(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return Buffer.alloc(0);
  try {
    const b = Buffer.alloc(n);
    const { bytesRead } = await fh.read(b, 0, n, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('show the volume, El Torito boot entries, MBR/GPT, .treeinfo and files of an ISO image, the header of an .rpm, or the sections of a .treeinfo file')
    .argument('<file>', 'an ISO 9660 image, an .rpm package or a .treeinfo file (told apart by content)')
    .option('--json', 'print the report as JSON')
    .option('--no-files', 'leave out the file list')
    .addHelpText('after', `
The kind of FILE is decided by its content: 'CD001' at byte 32769 means an ISO
image; the RPM lead magic ED AB EE DB means a package (name, version, release,
arch, provides, requires, files and the signing key id); INI text starting with
a [section] line means a .treeinfo file.
An ISO with update.xml at its root is an update (hotfix, cumulative update,
supplemental pack or driver disk): the report adds its update.xml fields, the
control package's provides/requires/conflicts, the packages and which files
are signed by which key.

Examples:
  xsforge inspect output/xs71/xenserver.iso
  xsforge inspect --no-files --json output/xs71/xenserver.iso | jq .boot
  xsforge inspect output/xs71/Packages/xenserver-release-7.1.2-137272c.noarch.rpm
  xsforge inspect --no-files output/updates/XS71ECU2001.iso
  xsforge inspect .treeinfo`)
    .action(async (file, opts) => {
      if (isRpm(await head(file, 96))) {
        const info = parseRpm(await readFile(file));
        process.stdout.write(opts.json ? `${JSON.stringify(info, (_k, v) => typeof v === 'bigint' ? v.toString() : v, 2)}\n` : formatRpmInfo(info, { files: opts.files }));
        return;
      }
      const report = await inspectFile(file, { files: opts.files });
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    });
}
