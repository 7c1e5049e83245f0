// xsforge test-guest: builds the tiny PV test guest (guest/test-guest.ts) on its
// own, outside the ISO graph, and copies vmlinuz and initrd.img into a directory
// with an example xl.cfg and libvirt domain XML that boot it.
import { Command, InvalidArgumentError } from '@commander-js/extra-typings';
import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StageCache, defaultCacheRoot } from '../../core/cache.ts';
import { collectStages, runGraph } from '../../core/engine.ts';
import { pickReporter } from '../../core/events.ts';
import { requireTool, type ToolName } from '../../core/tools.ts';
import { DEFAULT_GUEST_BRIDGE, DEFAULT_GUEST_MEMORY_MIB, libvirtGuestXml, xlGuestConfig, type GuestConfigInput } from '../../guest/config.ts';
import { TEST_GUEST_FILES, type TestGuestManifest } from '../../guest/test-guest.ts';
import { loadRecipe } from '../../recipes/load.ts';
import { planTestGuest } from '../pipeline.ts';
import { DEFAULT_RECIPE, epochFor } from '../shared.ts';

/** The files the command writes into --out. */
export const TEST_GUEST_OUT = {
  kernel: 'vmlinuz',
  initrd: 'initrd.img',
  xlConfig: 'test-guest.xl.cfg',
  libvirtXml: 'test-guest.libvirt.xml',
} as const;

function mebibytes(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('MiB must be a positive whole number');
  return n;
}

export function register(program: Command): void {
  program.command('test-guest')
    .description('Build the tiny Xen PV test guest (the recipe\'s dom0 kernel and a busybox initramfs that reports disk, DHCP lease and a ping of its gateway, then powers off) and copy it into --out with example domain configs')
    .argument('[recipe]', 'recipe file: its Debian mirror and kernel package', DEFAULT_RECIPE)
    .requiredOption('--out <dir>', `directory to write ${Object.values(TEST_GUEST_OUT).join(', ')} into`)
    .option('--name <name>', 'domain name in the example configs', 'xsforge-test-guest')
    .option('--memory <MiB>', 'memory of the domain in the example configs', mebibytes, DEFAULT_GUEST_MEMORY_MIB)
    .option('--disk <spec>', 'a disk the guest sees as xvda, in the example configs: phy:/dev/VG/LV, file:/path/disk.img or an absolute path')
    .option('--bridge <name>', 'bridge of the guest\'s NIC in the example configs', DEFAULT_GUEST_BRIDGE)
    .option('--mac <mac>', 'MAC of the guest\'s NIC in the example configs (default: the toolstack picks one)')
    .option('--boot-dir <dir>', 'where vmlinuz and initrd.img will be on the Xen host, for the example configs (default: --out)')
    .option('--cache <dir>', 'stage cache directory (default $XSFORGE_CACHE or ~/.cache/xsforge)')
    .option('-j, --jobs <n>', 'stages run in parallel', '2')
    .option('--explain', 'say, for each stage that runs, which of its inputs changed')
    .option('--force', 'build the test-guest stage even if its output is cached')
    .option('--refresh-index', 'fetch the Debian package index again before resolving packages')
    .option('--json', 'one JSON event per line on stdout (stage start/finish/cached/failed), then a result line')
    .option('-q, --quiet', 'print only failures and the result')
    .addHelpText('after', `
The guest prints, on its console, lines a test or a person can read:
  XSFORGE-TEST-GUEST-UP kernel=<release>
  XSFORGE-TEST-GUEST-DISK dev=xvda bytes=<size>        (vda under QEMU, dev=none without a disk)
  XSFORGE-TEST-GUEST-LEASE ip=<ip> router=<router>
  XSFORGE-TEST-GUEST-PING ok gateway=<router>
  XSFORGE-TEST-GUEST-DONE                              then it powers off
or XSFORGE-TEST-GUEST-FAILED step=<step>, after which it stays up: a domain
that goes away by itself passed, one that keeps running failed.

The kernel stage is shared with \`xsforge build\` (same recipe, same cache entry).

Examples:
  xsforge test-guest recipes/test-mini.yaml --out /tmp/guest --disk phy:/dev/VG_XenStorage/test
  # on a host (dom0):
  xl create /tmp/guest/test-guest.xl.cfg -c          # or: virsh define /tmp/guest/test-guest.libvirt.xml
  # without Xen, under plain QEMU:
  qemu-system-x86_64 -accel tcg -cpu qemu64 -m 256 -nographic -no-reboot \\
    -kernel /tmp/guest/vmlinuz -initrd /tmp/guest/initrd.img -append console=ttyS0 \\
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0`)
    .action(async (recipePath, o) => {
      const started = Date.now();
      const out = resolve(o.out);
      const bootDir = o.bootDir ?? out;
      const config: GuestConfigInput = {
        name: o.name,
        kernel: join(bootDir, TEST_GUEST_OUT.kernel),
        ramdisk: join(bootDir, TEST_GUEST_OUT.initrd),
        memoryMiB: o.memory,
        bridge: o.bridge,
        ...(o.disk !== undefined ? { disk: o.disk } : {}),
        ...(o.mac !== undefined ? { mac: o.mac } : {}),
      };
      // refused before anything is built
      const xl = xlGuestConfig(config);
      const xml = libvirtGuestXml(config);

      const recipe = loadRecipe(recipePath);
      const cacheRoot = o.cache ?? defaultCacheRoot();
      const plan = await planTestGuest(recipe, { cacheRoot, refreshIndex: o.refreshIndex });
      const tools = new Set<ToolName>(['apt-get']);
      for (const s of collectStages([plan.target])) for (const t of s.tools ?? []) tools.add(t);
      for (const t of tools) requireTool(t);
      const reporter = pickReporter({ json: o.json, explain: o.explain, quiet: o.quiet });
      let results;
      try {
        results = await runGraph([plan.target], {
          cache: new StageCache(cacheRoot), reporter, jobs: Number(o.jobs), sourceDateEpoch: epochFor(recipe),
          scope: `${recipe.name}-test-guest`, explain: o.explain, ...(o.force ? { force: [plan.target.name] } : {}),
        });
      } finally {
        reporter.close();
      }
      const res = results.get(plan.target.name)!;
      const manifest = JSON.parse(await readFile(join(res.dir, TEST_GUEST_FILES.manifest), 'utf8')) as TestGuestManifest;

      await mkdir(out, { recursive: true });
      // each file appears whole or not at all
      const place = async (name: string, from: { file: string } | { text: string }) => {
        const tmp = join(out, `.${name}.tmp-${process.pid}`);
        if ('file' in from) await copyFile(from.file, tmp);
        else await writeFile(tmp, from.text);
        await rename(tmp, join(out, name));
        return join(out, name);
      };
      const files = {
        kernel: await place(TEST_GUEST_OUT.kernel, { file: join(res.dir, TEST_GUEST_FILES.kernel) }),
        initrd: await place(TEST_GUEST_OUT.initrd, { file: join(res.dir, TEST_GUEST_FILES.initrd) }),
        xlConfig: await place(TEST_GUEST_OUT.xlConfig, { text: xl }),
        libvirtXml: await place(TEST_GUEST_OUT.libvirtXml, { text: xml }),
      };
      if (o.json) {
        process.stdout.write(`${JSON.stringify({
          type: 'result', dir: out, ...files, kernelRelease: manifest.kernelRelease, modules: manifest.modules,
          packages: plan.resolved, stage: { name: res.stage.name, key: res.key, cached: res.cached },
          durationMs: Date.now() - started, time: Date.now(),
        })}\n`);
      } else {
        process.stderr.write(`${res.cached ? 'up to date' : 'built'}: test guest for kernel ${manifest.kernelRelease} in ${out} (${Object.values(TEST_GUEST_OUT).join(', ')})\n`);
      }
    });
}
