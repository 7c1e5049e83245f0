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
import { parseArgs } from 'node:util';
import { describeCmdline, parseCmdline, type AtExit, type CmdlineParse } from './cmdline.ts';
import { Consoles } from './console.ts';
import { banner, diskTable, nicTable } from './report.ts';
import {
  listBlockDevices, listNics, pathsFromEnv, readCmdlineText, readProduct, writeAtexit,
  type ProductIdentity, type SystemPaths,
} from './system.ts';

export const READY_MARKER = 'XSFORGE-INSTALLER-READY';
export const EXIT_MARKER = 'XSFORGE-INSTALLER-EXIT';

interface Session {
  paths: SystemPaths;
  parsed: CmdlineParse;
  console: Consoles;
  product: ProductIdentity;
}

function options(argv: string[]): { paths: SystemPaths; alsoStdout: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      cmdline: { type: 'string' },
      'sys-root': { type: 'string' },
      'dev-root': { type: 'string' },
      product: { type: 'string' },
      'atexit-file': { type: 'string' },
      stdout: { type: 'boolean' },
    },
  });
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
  };
}

/** What the installer does once it knows the command line and the hardware. */
function chooseOperation(s: Session): string[] {
  const c = s.parsed.cmdline;
  if (s.parsed.errors.length) {
    return [
      'An unrecoverable error has occurred. The error was:',
      ...s.parsed.errors.map((e) => `  ${e}`),
    ];
  }
  if (c.install && (c.answerfile || c.answerfileGenerator)) {
    return [
      `Unattended installation was requested (answer file ${c.answerfile ?? c.answerfileGenerator}),`,
      'but this build of the installer cannot carry out answer-file installs yet.',
      'No disk has been changed.',
    ];
  }
  return [
    'The interactive installer is not part of this build of the installer yet.',
    'No disk has been changed.',
  ];
}

function finish(s: Session, action: AtExit): void {
  s.console.line(`${EXIT_MARKER} action=${action}`);
  writeAtexit(s.paths, action);
}

function main(argv: string[]): number {
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

  for (const l of chooseOperation(s)) console.line(l);
  finish(s, parsed.cmdline.atexit);
  console.close();
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  // /init shows this (it keeps the runtime's stderr) and falls back to a shell
  process.stderr.write(`xsforge installer failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
}
