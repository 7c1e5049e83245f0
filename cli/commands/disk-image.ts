// xsforge disk-image: a recipe + an answer file -> a preinstalled disk (raw,
// qcow2 or VHD) for imaging on the factory line. The build's stages come from
// the cache (dom0 root, product repository, GRUB modules); the disk is then
// laid out by the installer's own planner and written without booting.
import type { Command } from '@commander-js/extra-typings';
import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StageCache, defaultCacheRoot, mountsUnder } from '../../core/cache.ts';
import { collectStages, runGraph } from '../../core/engine.ts';
import { XsforgeError } from '../../core/errors.ts';
import { pickReporter } from '../../core/events.ts';
import type { Stage } from '../../core/stage.ts';
import { requireTool, type ToolName } from '../../core/tools.ts';
import { parseSize } from '../../disk/size.ts';
import { InstallLog } from '../../installer/runtime/log.ts';
import { DISK_IMAGE_FORMATS, buildDiskImage, planDiskImage, type DiskImageFormat } from '../../preinstall/disk-image.ts';
import { bootValues } from '../../target/boot-args.ts';
import { loadRecipe } from '../../recipes/load.ts';
import { planIsoBuild } from '../pipeline.ts';
import { DEFAULT_RECIPE, epochFor } from '../shared.ts';

export function register(program: Command): void {
  program.command('disk-image')
    .description('Make a preinstalled disk image (same layout, dom0 and packages as an unattended install; first boot pending) without booting anything')
    .argument('[recipe]', 'recipe file', DEFAULT_RECIPE)
    .requiredOption('--answerfile <file>', 'answer file of the install (primary disk, password, network, timezone, ...)')
    .requiredOption('--out <file>', 'the disk image to write')
    .option('--size <size>', 'disk size, e.g. 60G (binary units) or 60GB', '60G')
    .option('--format <format>', `image format: ${DISK_IMAGE_FORMATS.join(', ')}`, 'raw')
    .option('--boot <mode>', 'firmware of the hosts: bios (GRUB in the BIOS-boot partition) or uefi (EFI system partition)', 'bios')
    .option('--disable-gpt', 'a DOS partition table, as the installer\'s disable-gpt argument (BIOS only)')
    .option('--seed <text>', 'vary the UUIDs, labels and password salt derived for this image (default: derived from the inputs only)')
    .option('--cache <dir>', 'stage cache directory (default $XSFORGE_CACHE or ~/.cache/xsforge)')
    .option('-j, --jobs <n>', 'stages run in parallel', '2')
    .option('--sign-key <key>', 'gpg key that signs the RPMs and repository metadata (as for build)')
    .option('--json', 'one JSON event per line on stdout, then a result line')
    .option('-q, --quiet', 'print only failures and the result')
    .addHelpText('after', `
The answer file is read as the installer reads it; the parts that need a booted
installer (scripts, driver sources, guest disks, upgrade and restore) are
refused with the reason. Identities an installer draws at random (installation
and SR UUIDs, file-system labels and UUIDs, the password salt) are derived from
the inputs, so the same inputs give the same bytes; every disk imaged from one
file shares them (use --seed for a batch of distinct images).

Example:
  xsforge disk-image --answerfile answerfiles/factory.xml --size 60G --out output/disk.img
  qemu-system-x86_64 -accel tcg -cpu qemu64 -m 2048 -drive file=output/disk.img,format=raw -nographic`)
    .action(async (recipePath, o) => {
      const started = Date.now();
      const format = o.format as DiskImageFormat;
      if (!(DISK_IMAGE_FORMATS as readonly string[]).includes(format)) throw new XsforgeError(`--format ${o.format} is not one of ${DISK_IMAGE_FORMATS.join(', ')}`);
      if (o.boot !== 'bios' && o.boot !== 'uefi') throw new XsforgeError(`--boot ${o.boot} is not bios or uefi`);
      if (o.boot === 'uefi' && o.disableGpt) throw new XsforgeError('--disable-gpt is for BIOS hosts: UEFI boots from a GPT disk');
      let sizeBytes: number;
      try {
        sizeBytes = parseSize(o.size);
      } catch (e) {
        throw new XsforgeError(`--size: ${(e as Error).message}`);
      }
      let text: string;
      try {
        text = readFileSync(o.answerfile, 'utf8');
      } catch (e) {
        throw new XsforgeError(`cannot read the answer file ${o.answerfile}: ${(e as Error).message}`);
      }
      const recipe = loadRecipe(recipePath);
      // boot: what the ISO's .treeinfo would tell the installer ([xsforge-boot])
      const product = { brand: recipe.product.brand, version: recipe.product.version, build_number: recipe.product.build_number, platform: recipe.product.platform, boot: bootValues(recipe.boot) };
      const epoch = epochFor(recipe);
      // the plan first: a bad answer file or a disk too small costs no build
      planDiskImage({ answerFile: { name: o.answerfile, text }, sizeBytes, boot: o.boot, disableGpt: !!o.disableGpt, product, sourceDateEpoch: epoch, ...(o.seed !== undefined ? { seed: o.seed } : {}) });

      const cacheRoot = o.cache ?? defaultCacheRoot();
      const graph = await planIsoBuild(recipe, { cacheRoot, signKey: o.signKey });
      const byName = new Map(collectStages(graph.targets).map((s) => [s.name, s] as const));
      const stage = (name: string): Stage<any> => {
        const s = byName.get(name);
        if (!s) throw new XsforgeError(`the build graph has no ${name} stage`);
        return s;
      };
      const targets = [stage('dom0-rootfs'), stage('yum-repo'), stage('boot-files')];
      const tools = new Set<ToolName>(['apt-get', 'grub-mkimage', 'mke2fs', 'mkswap', 'mkfs.vfat', 'mcopy', 'zstd', 'tar', 'rpm']);
      if (format !== 'raw') tools.add('qemu-img');
      for (const s of collectStages(targets)) for (const t of s.tools ?? []) tools.add(t);
      for (const t of tools) requireTool(t);
      const reporter = pickReporter({ json: o.json, quiet: o.quiet });
      let results;
      const cache = new StageCache(cacheRoot);
      try {
        results = await runGraph(targets, { cache, reporter, jobs: Number(o.jobs), sourceDateEpoch: epoch, scope: `${recipe.name}-disk-image` });
      } finally {
        reporter.close();
      }
      const dir = (name: string) => results.get(name)!.dir;

      const out = resolve(o.out);
      await mkdir(dirname(out), { recursive: true });
      const scratch = await cache.scratch('disk-image');
      const logFile = join(dirname(out), `${out.split('/').pop()}.log`);
      await rm(logFile, { force: true });
      const echo = !o.quiet && !o.json;
      // rpm 4.18 records install times from SOURCE_DATE_EPOCH: the image's rpm database then depends on the inputs only
      process.env.SOURCE_DATE_EPOCH = String(epoch);
      const log = new InstallLog({ line: (t = '') => { if (echo) process.stderr.write(`${t}\n`); } }, logFile);
      try {
        const r = await buildDiskImage({
          rootArchive: join(dir('dom0-rootfs'), 'dom0-root.tar.zst'),
          rootManifest: join(dir('dom0-rootfs'), 'dom0-root.json'),
          repoDir: dir('yum-repo'),
          grubPcDir: join(dir('boot-files'), 'grub-i386-pc'),
          grubEfiDir: join(dir('boot-files'), 'grub-x86_64-efi'),
        }, {
          answerFile: { name: o.answerfile, text },
          sizeBytes, boot: o.boot, disableGpt: !!o.disableGpt, format, out,
          product,
          sourceDateEpoch: epoch,
          ...(o.seed !== undefined ? { seed: o.seed } : {}),
          work: join(scratch, 'work'),
          log,
        });
        const result = {
          type: 'result', image: r.path, format: r.format, diskBytes: sizeBytes, fileBytes: r.sizeBytes, boot: r.plan.bootMode,
          table: r.plan.layout.tableType, labels: r.plan.labelSuffix, installationUuid: r.plan.uuids.installation, log: logFile,
          durationMs: Date.now() - started, time: Date.now(),
        };
        if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else process.stderr.write(`wrote ${r.path} (${r.format}, ${r.plan.bootMode}, ${r.plan.layout.tableType}, labels *-${r.plan.labelSuffix}); log ${logFile}\n`);
      } finally {
        // never remove a tree that still has the host's /dev or /proc bound into it
        if (!mountsUnder(scratch).length) await rm(scratch, { recursive: true, force: true });
        else process.stderr.write(`warning: ${scratch} still has mounts; left in place\n`);
      }
    });
}
