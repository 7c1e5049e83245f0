// `xsforge answerfile plan FILE --disk sda:60G[,sdb:100G]`: the InstallPlan the
// installer would carry out for an answer file on made-up hardware, so mistakes
// (a missing disk, a disk too small, UEFI with disable-gpt) show up before a
// machine is booted. The same planInstall runs inside install.img.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from '@commander-js/extra-typings';
import { XsforgeError } from '../../core/errors.ts';
import { parseAnswerFile } from '../../answerfiles/parse.ts';
import { parseSize } from '../../disk/size.ts';
import { loadRecipe } from '../../recipes/load.ts';
import { parseCmdline } from '../../installer/runtime/cmdline.ts';
import { formatInstallPlan, installPlanJson, planInstall, type DetectedDisk, type InstallPlan } from '../../installer/runtime/plan.ts';
import { bootValues } from '../../target/boot-args.ts';
import { installationDate, randomLabelSuffix } from '../../installer/runtime/unattended.ts';

const DEFAULT_RECIPE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'recipes', 'xenserver-7.1.2.yaml');

/** `sda:60G,sdb:100GB,nvme0n1:2T:4096` → disks (sector size 512 unless given). */
export function parseDiskList(text: string, previous: DetectedDisk[] = []): DetectedDisk[] {
  const out = [...previous];
  for (const item of text.split(',').filter(Boolean)) {
    const m = /^(?:\/dev\/)?([A-Za-z0-9_!-]+):([^:]+)(?::(512|4096))?$/.exec(item.trim());
    if (!m) throw new InvalidArgumentError(`'${item}': write NAME:SIZE[:SECTOR-SIZE], e.g. sda:60GB or nvme0n1:2TB:4096`);
    let sizeBytes: number;
    try {
      sizeBytes = parseSize(m[2]!);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
    const name = m[1]!;
    if (out.some((d) => d.name === name)) throw new InvalidArgumentError(`disk ${name} is given twice`);
    out.push({ name, path: `/dev/${name}`, sizeBytes, sectorSize: Number(m[3] ?? 512) });
  }
  return out;
}

function parseNic(text: string, previous: { name: string; mac: string }[]): { name: string; mac: string }[] {
  const m = /^(eth\d+)=([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})$/.exec(text);
  if (!m) throw new InvalidArgumentError(`'${text}': write ethN=MAC, e.g. eth0=52:54:00:12:34:56`);
  return [...previous, { name: m[1]!, mac: m[2]!.toLowerCase() }];
}

export interface PlanCommandOptions {
  disk: DetectedDisk[];
  uefi?: boolean;
  disableGpt?: boolean;
  nic: { name: string; mac: string }[];
  labelSuffix?: string;
  recipe?: string;
  cmdline?: string;
}

/** Plan an answer file's install; throws XsforgeError with the installer's messages. */
export function planAnswerFile(file: string, o: PlanCommandOptions): InstallPlan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new XsforgeError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const parsed = parseAnswerFile(text);
  if (!parsed.config) {
    throw new XsforgeError(parsed.errors.map((e) => `${file}${e.line !== undefined ? `:${e.line}` : ''}: ${e.message}${e.detail ? ` (${e.detail})` : ''}`).join('\n'),
      `check it with: xsforge answerfile validate ${file}`);
  }
  for (const w of parsed.warnings) process.stderr.write(`xsforge: warning: ${file}: ${w}\n`);
  if (o.disk.length === 0) throw new XsforgeError('no disks given', 'describe the machine with --disk sda:60GB[,sdb:100GB]');
  const cmd = parseCmdline(`install ${o.cmdline ?? ''}${o.disableGpt ? ' disable-gpt' : ''}`);
  if (cmd.errors.length) throw new XsforgeError(`--cmdline: ${cmd.errors.join('; ')}`);
  const recipe = loadRecipe(o.recipe ?? DEFAULT_RECIPE);
  const product = recipe.product;
  return planInstall(parsed.config, o.disk, cmd.cmdline, {
    uefi: o.uefi === true,
    labelSuffix: o.labelSuffix ?? randomLabelSuffix(),
    uuids: { installation: randomUUID(), controlDomain: randomUUID(), sr: randomUUID() },
    // boot: what the recipe's media tell the installer ([xsforge-boot] in .treeinfo)
    product: { brand: product.brand, version: product.version, build_number: product.build_number, platform: { ...product.platform }, boot: bootValues(recipe.boot) },
    // a fixed salt: the dry run shows the kind of password, the hash is never used
    passwordSalt: 'xsforgedryrun000',
    installationDate: installationDate(new Date()),
    nics: o.nic,
  });
}

/** Adds `plan` under the `answerfile` command (created if it is not registered yet). */
export function registerPlan(answerfile: Command): void {
  answerfile.command('plan')
    .description('Print the installation plan the installer would carry out for an answer file on the given disks')
    .argument('<file>', 'answer file (XML)')
    .requiredOption('--disk <NAME:SIZE,...>', 'the machine\'s disks, e.g. sda:60GB,sdb:100GB (SIZE as for layout plan; :4096 for 4K sectors); repeatable', parseDiskList, [] as DetectedDisk[])
    .option('--uefi', 'the machine boots by UEFI (ESP instead of the BIOS-boot partition)')
    .option('--disable-gpt', 'the installer was booted with disable-gpt (DOS table, legacy layout)')
    .option('--nic <ethN=MAC>', 'a network interface, to resolve <admin-interface hwaddr=...> (repeatable)', parseNic, [] as { name: string; mac: string }[])
    .option('--cmdline <args>', 'other installer arguments, e.g. "atexit=poweroff"')
    .option('--label-suffix <sfx>', 'the six letters of the file-system labels (default: random, as the installer picks them)')
    .option('--recipe <file>', 'recipe whose product identity goes into the inventory (default: the shipped XenServer 7.1.2 recipe)')
    .option('--json', 'print the plan as JSON')
    .addHelpText('after', `
Sizes: 60G = 60 GiB; 60GB = 60 x 10^9 bytes (a "60 GB" disk). The new GPT layout needs 46 GiB,
disable-gpt 12 GiB.

Examples:
  xsforge answerfile plan host1.xml --disk sda:60GB
  xsforge answerfile plan host1.xml --disk sda:20GiB --disable-gpt
  xsforge answerfile plan host1.xml --disk sda:500GB,sdb:2TB --uefi --json`)
    .action((file, o) => {
      if (o.labelSuffix !== undefined && !/^[a-z]{6}$/.test(o.labelSuffix)) throw new XsforgeError('--label-suffix must be 6 lower-case letters');
      const plan = planAnswerFile(file, o);
      process.stdout.write(o.json ? `${installPlanJson(plan)}\n` : formatInstallPlan(plan));
    });
}

export function register(program: Command): void {
  const existing = program.commands.find((c) => c.name() === 'answerfile') as Command | undefined;
  registerPlan(existing ?? program.command('answerfile').description('Check and write answer files for unattended installs'));
}
