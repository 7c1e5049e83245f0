// `xsforge layout plan|write`: the installer's partition layouts (SPEC section
// 4), planned for a disk size or written onto an image file by our own GPT/MBR
// writer, so a layout can be checked with sgdisk/sfdisk before any install.
import { Command, InvalidArgumentError, Option } from '@commander-js/extra-typings';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, truncate } from 'node:fs/promises';
import { XsforgeError } from '../../core/errors.ts';
import {
  DOS_SECTORS_PER_TRACK, DOS_ID, TYPE_GUID, UTILITY_PARTLABEL, planLayout,
  type ExistingPartition, type LayoutPlan, type PreserveFirstPartition, type Scheme, type TableType,
} from '../../disk/layout.ts';
import { formatPlan, planJson } from '../../disk/format.ts';
import { parseSize, SIZE_SYNTAX } from '../../disk/size.ts';
import { diskSizeBytes, readTableFromImage, writeTableToImage } from '../../disk/write-table.ts';

function size(value: string): number {
  try {
    return parseSize(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function sectorSizeArg(value: string): number {
  const n = Number(value);
  if (n !== 512 && n !== 4096) throw new InvalidArgumentError('sector size must be 512 or 4096');
  return n;
}

function labelSuffixArg(value: string): string {
  if (!/^[a-z]{6}$/.test(value)) throw new InvalidArgumentError('label suffix must be 6 lower-case letters');
  return value;
}

/** Six random lower-case letters, as util.randomLabelStr makes them. */
export function randomLabelSuffix(): string {
  return [...randomBytes(6)].map((b) => String.fromCharCode(97 + (b % 26))).join('');
}

/** A utility partition at 1, as a vendor would leave it (GPT at 1 MiB, DOS at sector 63). */
export function simulatedUtilityPartition(tableType: TableType, bytes: number, sectorSize: number): ExistingPartition {
  const sectorCount = Math.ceil(bytes / sectorSize);
  if (tableType === 'dos') return { number: 1, firstSector: DOS_SECTORS_PER_TRACK, sectorCount, dosId: DOS_ID.utility };
  return { number: 1, firstSector: 2 ** 20 / sectorSize, sectorCount, typeGuid: TYPE_GUID.esp, name: UTILITY_PARTLABEL };
}

const schemeOption = () => new Option('--scheme <scheme>', 'gpt: the new 7.x layout; dos: the disable-gpt layout; old-gpt: the pre-7.0 GPT layout')
  .choices(['gpt', 'dos', 'old-gpt'] as const).default('gpt' as const);
const preserveOption = () => new Option('--preserve-first-partition <mode>', 'keep partition 1: true, false, or if-utility (only a utility partition: DOS id 0xDE, or an ESP named DELLUTILITY)')
  .choices(['true', 'false', 'if-utility'] as const).default('if-utility' as const);

const SIZE_HELP = `
SIZE is ${SIZE_SYNTAX}.
So 60G = 60GiB = 60 x 2^30 bytes, and 60GB = 60 x 10^9 bytes (a "60 GB" disk).
The installer's minimum sizes count GiB: floor(bytes / 2^30) >= 46 (gpt) or 12 (dos, old-gpt).`;

export function register(program: Command): void {
  const layout = program
    .command('layout')
    .summary('plan or write the installer\'s partition layouts')
    .description('The primary disk\'s partition layouts of the installer (new GPT, DOS for disable-gpt, old GPT), sector for sector.');

  layout
    .command('plan')
    .description('print the partitions the installer would create on a disk of the given size')
    .requiredOption('--disk-size <SIZE>', 'disk size (see below)', size)
    .addOption(schemeOption())
    .option('--no-sr', 'no local SR on this disk (answer file guest-storage="no")')
    .option('--utility-size <SIZE>', 'pretend the disk has a utility partition of this size at 1 (kept, the rest shifts up)', size)
    .addOption(preserveOption())
    .option('--uefi', 'plan for UEFI boot (ESP) instead of BIOS (BIOS-boot partition)')
    .option('--sector-size <bytes>', 'logical sector size, 512 or 4096', sectorSizeArg, 512)
    .option('--disk-name <name>', 'disk name used in messages', '/dev/sda')
    .option('--label-suffix <sfx>', 'the 6 lower-case letters of the file-system labels (default: shown as <sfx>)', labelSuffixArg)
    .option('--guid-seed <text>', 'derive the disk and partition GUIDs from this seed and show them')
    .option('--json', 'print the plan as JSON')
    .addHelpText('after', `${SIZE_HELP}

Examples:
  xsforge layout plan --disk-size 60GB
  xsforge layout plan --disk-size 20G --scheme dos
  xsforge layout plan --disk-size 2TB --uefi --no-sr --json
  xsforge layout plan --disk-size 500G --utility-size 32M`)
    .action((opts) => {
      const sectorSize = opts.sectorSize;
      const diskSectors = Math.floor(opts.diskSize / sectorSize);
      const tableType: TableType = opts.scheme === 'dos' ? 'dos' : 'gpt';
      const plan = planLayout({
        scheme: opts.scheme as Scheme,
        diskSectors,
        sectorSize,
        guestStorage: opts.sr,
        uefi: opts.uefi ?? false,
        diskName: opts.diskName,
        preserveFirstPartition: opts.preserveFirstPartition as PreserveFirstPartition,
        existing: opts.utilitySize !== undefined ? [simulatedUtilityPartition(tableType, opts.utilitySize, sectorSize)] : undefined,
        existingTableType: opts.utilitySize !== undefined ? tableType : undefined,
        labelSuffix: opts.labelSuffix,
        guidSeed: opts.guidSeed,
      });
      process.stdout.write(opts.json ? `${planJson(plan)}\n` : formatPlan(plan));
    });

  layout
    .command('write')
    .description('plan for an image file\'s size and write the partition table onto it (our own GPT/MBR writer)')
    .argument('<image>', 'raw disk image (a file; block devices work too)')
    .addOption(schemeOption())
    .option('--create-size <SIZE>', 'create IMAGE first as a sparse file of this size (IMAGE must not exist)', size)
    .option('--no-sr', 'no local SR on this disk (answer file guest-storage="no")')
    .option('--utility-size <SIZE>', 'write a utility partition of this size at 1 as well (instead of keeping the image\'s own)', size)
    .addOption(preserveOption())
    .option('--uefi', 'UEFI boot (ESP) instead of BIOS (BIOS-boot partition)')
    .option('--sector-size <bytes>', 'logical sector size, 512 or 4096', sectorSizeArg, 512)
    .option('--label-suffix <sfx>', 'the 6 lower-case letters of the file-system labels (default: random)', labelSuffixArg)
    .option('--guid-seed <text>', 'derive the disk and partition GUIDs from this seed (default: random)')
    .option('--json', 'print the written plan as JSON')
    .addHelpText('after', `${SIZE_HELP}

The image's existing table is read first, so a utility partition already at 1
is kept (with --preserve-first-partition if-utility, the default). Only the
table is written: bytes 0-439 of sector 0 (boot code) stay as they are.

Examples:
  xsforge layout write /tmp/disk.img --create-size 60GB
  xsforge layout write /tmp/small.img --create-size 20G --scheme dos
  sgdisk -v /tmp/disk.img && sgdisk -p /tmp/disk.img`)
    .action(async (image, opts) => {
      if (opts.createSize !== undefined) {
        if (existsSync(image)) throw new XsforgeError(`${image} already exists`, 'remove it, or leave out --create-size to write onto it');
        if (opts.createSize % opts.sectorSize !== 0) throw new XsforgeError(`--create-size must be a multiple of the ${opts.sectorSize}-byte sector size`);
        await (await open(image, 'wx')).close();
        await truncate(image, opts.createSize);
      } else if (!existsSync(image)) {
        throw new XsforgeError(`${image} does not exist`, 'create it with --create-size SIZE');
      }
      const sectorSize = opts.sectorSize;
      const diskSectors = Math.floor((await diskSizeBytes(image)) / sectorSize);
      let existing: ExistingPartition[] | undefined;
      let existingTableType: TableType | undefined;
      if (opts.utilitySize !== undefined) {
        existingTableType = opts.scheme === 'dos' ? 'dos' : 'gpt';
        existing = [simulatedUtilityPartition(existingTableType, opts.utilitySize, sectorSize)];
      } else {
        const current = await readTableFromImage(image, sectorSize);
        if (current.tableType !== 'none') {
          existing = current.existing;
          existingTableType = current.tableType;
        }
      }
      const plan: LayoutPlan = planLayout({
        scheme: opts.scheme as Scheme,
        diskSectors,
        sectorSize,
        guestStorage: opts.sr,
        uefi: opts.uefi ?? false,
        diskName: image,
        preserveFirstPartition: opts.preserveFirstPartition as PreserveFirstPartition,
        existing,
        existingTableType,
        labelSuffix: opts.labelSuffix ?? randomLabelSuffix(),
        guidSeed: opts.guidSeed ?? randomBytes(16).toString('hex'),
      });
      const written = await writeTableToImage(image, plan);
      if (opts.json) {
        process.stdout.write(`${planJson({ image, plan, clearedGptHeaders: written.clearedGptHeaders })}\n`);
      } else {
        process.stdout.write(formatPlan(plan));
        process.stdout.write(`\nwrote the ${plan.tableType.toUpperCase()} table to ${image}\n`);
      }
    });
}
