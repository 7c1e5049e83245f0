// xsforge pxe: a recipe + a hosts file -> a network-boot tree: tftp/ (pxelinux
// and GRUB, per-MAC entries, the default menu for unknown machines), http/ (the
// install repository as on the ISO, one answer file per host) and dhcp/ examples.
// Nothing is written when the inventory or the build fails.
import type { Command } from '@commander-js/extra-typings';
import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StageCache, defaultCacheRoot } from '../../core/cache.ts';
import { collectStages, runGraph } from '../../core/engine.ts';
import { XsforgeError } from '../../core/errors.ts';
import { pickReporter } from '../../core/events.ts';
import { walkTree } from '../../core/hash.ts';
import type { Stage } from '../../core/stage.ts';
import { requireTool, type ToolName } from '../../core/tools.ts';
import { checkHostAnswerFile, hostAnswerFile } from '../../inventory/answers.ts';
import { hostBootArgs } from '../../inventory/boot-args.ts';
import { loadInventory, type Host } from '../../inventory/load.ts';
import { buildMenu } from '../../media/menu.ts';
import { grubNetImageStage } from '../../netboot/grub-image.ts';
import type { NetbootHost } from '../../netboot/pxe-config.ts';
import { answerUrl, writeNetbootTree } from '../../netboot/tree.ts';
import { loadRecipe } from '../../recipes/load.ts';
import { planIsoBuild } from '../pipeline.ts';
import { DEFAULT_RECIPE, epochFor } from '../shared.ts';

/** The inventory host as a netboot entry: its arguments after the base entry its console asks for. */
export function netbootHost(h: Host, baseUrl: string): NetbootHost {
  const answerfileUrl = answerUrl(baseUrl, h.mac);
  const args = hostBootArgs(h, { answerfileUrl, includeConsole: false });
  return {
    mac: h.mac, hostname: h.hostname, answerfileUrl, xenArgs: args.xen, dom0Args: args.dom0,
    // the recipe's own entries carry its serial port and speed; VGA-only hosts start from no-serial
    ...(h.console === 'vga' ? { baseLabel: 'no-serial' } : {}),
  };
}

/** What writeNetbootTree needs from an inventory's hosts. */
export interface InventoryNetboot {
  /** each host's boot entry, by netbootHost */
  hosts: NetbootHost[];
  /** each host's answer file by MAC (answerfileUrl serves it) */
  answers: Record<string, string>;
  /** the answer-file validator for writeNetbootTree's httpTree.checkAnswer: a file the installer would refuse stops the tree */
  checkAnswer: (mac: string, xml: string) => void;
}

/**
 * The hosts' boot entries and answer files (generation errors are thrown here,
 * before any build). Each answer file is validated as writeNetbootTree writes it,
 * where the parsing overlaps the I/O of the other files.
 */
export function inventoryNetboot(hosts: Host[], baseUrl: string): InventoryNetboot {
  const byMac = new Map(hosts.map((h) => [h.mac, h] as const));
  return {
    hosts: hosts.map((h) => netbootHost(h, baseUrl)),
    answers: Object.fromEntries(hosts.map((h) => [h.mac, hostAnswerFile(h, { repoUrl: baseUrl })])),
    checkAnswer: (mac, xml) => checkHostAnswerFile(byMac.get(mac) ?? { hostname: '(no host)', mac }, xml),
  };
}

export function register(program: Command): void {
  program.command('pxe')
    .description('Write a network-boot tree (TFTP + HTTP + DHCP examples) for the hosts of an inventory')
    .argument('[recipe]', 'recipe file', DEFAULT_RECIPE)
    .requiredOption('--inventory <file>', 'hosts file (YAML or CSV), see examples/hosts.yaml')
    .requiredOption('--out <dir>', 'where the tree goes: <dir>/tftp, <dir>/http, <dir>/dhcp (replaced atomically)')
    .requiredOption('--base-url <url>', 'where <dir>/http will be served, e.g. http://192.0.2.10:8080 (answer files and the repository are fetched from there)')
    .option('--cache <dir>', 'stage cache directory (default $XSFORGE_CACHE or ~/.cache/xsforge)')
    .option('-j, --jobs <n>', 'stages run in parallel', '2')
    .option('--sign-key <key>', 'gpg key that signs the RPMs and repository metadata (as for build)')
    .option('--json', 'one JSON event per line on stdout, then a result line')
    .option('-q, --quiet', 'print only failures and the result')
    .addHelpText('after', `
Each host gets pxelinux.cfg/01-<mac> (BIOS) and a branch of the GRUB network
grub.cfg (UEFI, selected by $net_default_mac) that installs unattended with
answerfile=<base-url>/answers/<mac>.xml; any other machine gets the ISO's
interactive menu. Serve both halves with
\`xsforge serve DIR/http --tftp DIR/tftp --bind <this server's address>\`
(TFTP on port 69 through dnsmasq; needs root) and point DHCP at this server
(see DIR/dhcp/*.example).

Example:
  xsforge pxe --inventory examples/hosts.yaml --out output/pxe --base-url http://10.0.2.2:8080`)
    .action(async (recipePath, o) => {
      const started = Date.now();
      const baseUrl = o.baseUrl.replace(/\/+$/, '');
      if (!/^https?:\/\/[^\s/]+/.test(baseUrl)) throw new XsforgeError(`--base-url ${o.baseUrl} is not an http:// or https:// URL`);
      // the inventory first: a bad hosts file costs no build
      const inventory = loadInventory(o.inventory);
      const { hosts, answers, checkAnswer } = inventoryNetboot(inventory.hosts, baseUrl);

      const recipe = loadRecipe(recipePath);
      const cacheRoot = o.cache ?? defaultCacheRoot();
      const graph = await planIsoBuild(recipe, { cacheRoot, signKey: o.signKey });
      const byName = new Map(collectStages(graph.targets).map((s) => [s.name, s] as const));
      const stage = (name: string): Stage<any> => {
        const s = byName.get(name);
        if (!s) throw new XsforgeError(`the build graph has no ${name} stage`);
        return s;
      };
      const netGrub = grubNetImageStage(stage('boot-files'));
      // what the installer fetches from an http source: the repository, the dom0 image, .treeinfo
      const targets = [stage('yum-repo'), stage('dom0-rootfs'), stage('install-img'), stage('hypervisor'), stage('kernel'), netGrub];
      const tools = new Set<ToolName>(['apt-get']);
      for (const s of collectStages(targets)) for (const t of s.tools ?? []) tools.add(t);
      for (const t of tools) requireTool(t);
      const reporter = pickReporter({ json: o.json, quiet: o.quiet });
      let results;
      try {
        results = await runGraph(targets, { cache: new StageCache(cacheRoot), reporter, jobs: Number(o.jobs), sourceDateEpoch: epochFor(recipe), scope: `${recipe.name}-pxe` });
      } finally {
        reporter.close();
      }
      const dir = (name: string) => results.get(name)!.dir;

      // the HTTP repository laid out as on the ISO, from hard links into the cache
      const out = resolve(o.out);
      await mkdir(dirname(out), { recursive: true });
      const repoDir = await mkdtemp(join(dirname(out), '.xsforge-pxe-repo-'));
      try {
        for (const f of await walkTree(dir('yum-repo'), false)) {
          if (f.type !== 'file') continue;
          await mkdir(dirname(join(repoDir, f.path)), { recursive: true });
          await link(join(dir('yum-repo'), f.path), join(repoDir, f.path));
        }
        await mkdir(join(repoDir, 'dom0'), { recursive: true });
        await link(join(dir('dom0-rootfs'), 'dom0-root.tar.zst'), join(repoDir, 'dom0/root.tar.zst'));
        await link(join(dir('dom0-rootfs'), 'dom0-root.json'), join(repoDir, 'dom0/root.json'));
        await writeFile(join(repoDir, '.treeinfo'), String((stage('iso').options as { treeinfo: string }).treeinfo));

        const tree = await writeNetbootTree({
          menu: buildMenu(recipe),
          id: { brand: recipe.product.brand, version: recipe.product.version, build: recipe.product.build_number },
          hosts,
          out,
          baseUrl,
          sources: {
            xenGz: join(dir('hypervisor'), 'xen.gz'),
            vmlinuz: join(dir('kernel'), 'vmlinuz'),
            installImg: join(dir('install-img'), 'install.img'),
            syslinuxDir: join(dir('boot-files'), 'syslinux'),
            grubNetImage: join(dir('grub-net-image'), 'grubx64.efi'),
          },
          httpTree: { repoDir, answers, checkAnswer },
        });
        const result = { type: 'result', out, hosts: hosts.length, files: tree.files.length, answerUrls: tree.answerUrls, durationMs: Date.now() - started, time: Date.now() };
        if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else {
          process.stdout.write(`wrote ${out}: ${tree.files.length} files for ${hosts.length} host${hosts.length === 1 ? '' : 's'}\n`);
          for (const h of hosts) process.stdout.write(`  ${h.mac}  ${h.hostname.padEnd(24)} ${tree.answerUrls[h.mac]}\n`);
          const at = new URL(baseUrl);
          process.stdout.write(`serve it: xsforge serve ${join(out, 'http')} --tftp ${join(out, 'tftp')} --bind ${at.hostname.replace(/^\[|\]$/g, '')} --port ${at.port || 80}\n`);
        }
      } finally {
        await rm(repoDir, { recursive: true, force: true });
      }
    });
}
