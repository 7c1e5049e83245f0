// The installer program inside install.img. /init (installer/init.sh) starts it as
// a child after udev has settled, waits for it, then carries out the exit action
// it leaves in /run/xsforge/atexit (reboot | poweroff | shell): the runtime never
// powers anything off itself, so running it on a build host is harmless.
//
// Bundled by esbuild into one file (installer/install-img.ts: bundleRuntime) for
// Debian bookworm's node 18. Only pure modules and ./system.ts, ./console.ts may
// be imported here.
//
// Test/debug options (each also settable by environment, see system.ts):
//   --cmdline TEXT     instead of /proc/cmdline       (XSFORGE_CMDLINE)
//   --sys-root DIR     instead of /sys                 (XSFORGE_SYS_ROOT)
//   --dev-root DIR     where console devices are       (XSFORGE_DEV_ROOT)
//   --product FILE     product identity JSON           (XSFORGE_PRODUCT_JSON)
//   --atexit-file FILE where the exit action is left   (XSFORGE_ATEXIT_FILE)
//   --stdout           also copy console output to stdout
// Unattended installs (see unattended.ts) also take:
//   --extra-disk PATH  a whole disk listBlockDevices leaves out, e.g. a loop device (XSFORGE_EXTRA_DISKS, space separated)
//   --boot-mode MODE   bios | uefi instead of looking for <sys-root>/firmware/efi (XSFORGE_BOOT_MODE)
//   --target-root DIR  where the target is mounted, default /tmp/root (XSFORGE_TARGET_ROOT)
//   --work-dir DIR     downloads and mount points, default /tmp/xsforge-install (XSFORGE_WORK_DIR)
//   --log-file FILE    the install log copied to the target, default /run/xsforge/install-log (XSFORGE_LOG_FILE)
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeCmdline, parseCmdline, type AtExit, type CmdlineParse } from './cmdline.ts';
import { Consoles } from './console.ts';
import { unrecoverableErrorText } from '../../answerfiles/model.ts';
import { InstallLog } from './log.ts';
import { banner, diskTable, nicTable } from './report.ts';
import {
  blockDeviceByPath, listBlockDevices, listNics, pathsFromEnv, readCmdlineText, readProduct, writeAtexit,
  type BlockDevice, type Nic, type ProductIdentity, type SystemPaths,
} from './system.ts';
import { runInteractive } from './interactive.ts';
import { planFileBeside, runUnattended } from './unattended.ts';

export const READY_MARKER = 'XSFORGE-INSTALLER-READY';
export const EXIT_MARKER = 'XSFORGE-INSTALLER-EXIT';

interface Session {
  paths: SystemPaths;
  parsed: CmdlineParse;
  console: Consoles;
  product: ProductIdentity;
}

interface InstallOptions {
  extraDisks: string[];
  bootMode?: 'bios' | 'uefi';
  targetRoot: string;
  workDir: string;
  logFile: string;
}

function options(argv: string[], env: NodeJS.ProcessEnv = process.env): { paths: SystemPaths; alsoStdout: boolean; install: InstallOptions } {
  const { values } = parseArgs({
    args: argv,
    options: {
      cmdline: { type: 'string' },
      'sys-root': { type: 'string' },
      'dev-root': { type: 'string' },
      product: { type: 'string' },
      'atexit-file': { type: 'string' },
      stdout: { type: 'boolean' },
      'extra-disk': { type: 'string', multiple: true },
      'boot-mode': { type: 'string' },
      'target-root': { type: 'string' },
      'work-dir': { type: 'string' },
      'log-file': { type: 'string' },
    },
  });
  const bootMode = values['boot-mode'] ?? env.XSFORGE_BOOT_MODE;
  if (bootMode !== undefined && bootMode !== 'bios' && bootMode !== 'uefi') throw new Error(`--boot-mode must be bios or uefi, not ${bootMode}`);
  const p = pathsFromEnv();
  return {
    paths: {
      ...p,
      ...(values.cmdline !== undefined ? { cmdlineText: values.cmdline } : {}),
      ...(values['sys-root'] ? { sysRoot: values['sys-root'] } : {}),
      ...(values['dev-root'] ? { devRoot: values['dev-root'] } : {}),
      ...(values.product ? { productJson: values.product } : {}),
      ...(values['atexit-file'] ? { atexitFile: values['atexit-file'] } : {}),
    },
    alsoStdout: values.stdout === true,
    install: {
      extraDisks: [...(values['extra-disk'] ?? []), ...(env.XSFORGE_EXTRA_DISKS ?? '').split(/\s+/).filter(Boolean)],
      ...(bootMode !== undefined && { bootMode }),
      targetRoot: values['target-root'] ?? env.XSFORGE_TARGET_ROOT ?? '/tmp/root',
      workDir: values['work-dir'] ?? env.XSFORGE_WORK_DIR ?? '/tmp/xsforge-install',
      logFile: values['log-file'] ?? env.XSFORGE_LOG_FILE ?? '/run/xsforge/install-log',
    },
  };
}

/** What the installer does once it knows the command line and the hardware. */
function chooseOperation(s: Session): 'unattended' | 'interactive' | string[] {
  const c = s.parsed.cmdline;
  if (s.parsed.errors.length) {
    return [unrecoverableErrorText(s.parsed.errors.join('\n')), 'No disk has been changed.'];
  }
  if (c.install && (c.answerfile || c.answerfileGenerator)) return 'unattended';
  return 'interactive';
}

function finish(s: Session, action: AtExit): void {
  s.console.line(`${EXIT_MARKER} action=${action}`);
  writeAtexit(s.paths, action);
}

async function main(argv: string[]): Promise<number> {
  const opts = options(argv);
  const text = readCmdlineText(opts.paths);
  const parsed = parseCmdline(text);
  const console = new Consoles(opts.paths.devRoot, parsed.cmdline.consoles, opts.alsoStdout);
  let product: ProductIdentity;
  try {
    product = readProduct(opts.paths);
  } catch (e) {
    console.line(`warning: cannot read the product identity: ${(e as Error).message}`);
    product = { brand: 'unknown product', version: '0', build_number: 'unknown', platform: { name: '', version: '' } };
  }
  const s: Session = { paths: opts.paths, parsed, console, product };

  console.line(banner(product));
  console.line(`Kernel command line: ${text}`);
  console.line('Installer options:');
  for (const l of describeCmdline(parsed)) console.line(l);

  const { disks, optical } = listBlockDevices(opts.paths);
  const nics = listNics(opts.paths);
  console.line('Disks:');
  for (const l of diskTable(disks, optical)) console.line(l);
  console.line('Network interfaces:');
  for (const l of nicTable(nics)) console.line(l);
  console.line(`${READY_MARKER} disks=${disks.length} optical=${optical.length} nics=${nics.length} errors=${parsed.errors.length}`);

  const operation = chooseOperation(s);
  const targets = (listed: BlockDevice[]) => {
    const all = [...listed];
    for (const path of opts.install.extraDisks) all.push(blockDeviceByPath(opts.paths, path));
    return all.map((d) => ({ name: d.name, path: d.path, sizeBytes: d.sizeBytes, sectorSize: d.sectorSize, vendor: d.vendor, model: d.model }));
  };
  const common = {
    cmdline: parsed.cmdline,
    product,
    disks: targets(disks),
    nics: nics as Nic[],
    uefi: opts.install.bootMode ? opts.install.bootMode === 'uefi' : existsSync(join(opts.paths.sysRoot, 'firmware', 'efi')),
    sysRoot: opts.paths.sysRoot,
    devRoot: opts.paths.devRoot,
    targetRoot: opts.install.targetRoot,
    workDir: opts.install.workDir,
    efivarsDir: join(opts.paths.sysRoot, 'firmware', 'efi', 'efivars'),
    planFile: planFileBeside(opts.install.logFile, opts.install.workDir),
  };
  if (operation === 'unattended') {
    const log = new InstallLog(console, opts.install.logFile, opts.alsoStdout);
    await runUnattended({ ...common, log, probeDisks: () => targets(listBlockDevices(opts.paths).disks) });
  } else if (operation === 'interactive') {
    await runInteractive({ ...common, consoles: console, logFile: opts.install.logFile });
  } else {
    for (const l of operation) console.line(l);
  }
  finish(s, parsed.cmdline.atexit);
  console.close();
  return 0;
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, (e) => {
  // /init shows this (it keeps the runtime's stderr) and falls back to a shell
  process.stderr.write(`xsforge installer failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
