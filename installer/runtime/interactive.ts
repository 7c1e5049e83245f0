// The interactive install: the text UI (installer/tui/) on the consoles, wired to
// the runtime's hardware lists, source check, plan and execute code. The answers
// become the same InstallConfig an answer file gives and go through the same
// planInstall/executePlan as the unattended install (unattended.ts).
//
// Keys are read from every console (serial and VGA alike) and every frame is drawn
// on all of them, so the person may be at either: XenServer reads only the last
// console= one, which on our default menu entry (console=hvc0 console=tty0) is
// the VGA console, leaving a serial-only host without a keyboard.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { isatty, ReadStream } from 'node:tty';
import { XsforgeError } from '../../core/errors.ts';
import type { InstallConfig } from '../../answerfiles/model.ts';
import { INSTALLER_EULA, readEula, readTimezones, runInteractiveInstall, type CheckResult, type InteractiveResult, type InteractiveSetup, type TuiContext } from '../tui/index.ts';
import type { Consoles } from './console.ts';
import { unmountAll, type ExecuteEnv } from './execute.ts';
import { carryOut, type InstallerRunOptions } from './carry-out.ts';
import { detectForMenu } from './upgrade.ts';
import { InstallLog, type LineSink } from './log.ts';
import { bringUpNetwork } from './network.ts';
import { verifyProductRepository } from './packages.ts';
import { formatInstallPlan, planInstall, ROOT_IMAGE_PATH, ROOT_MANIFEST_PATH, type DetectedDisk, type InstallPlan, type PlanOptions, type ProductInfo } from './plan.ts';
import { cryptSaltFromBytes } from './sha512crypt.ts';
import { openSource, productOfSource, readSourceProduct } from './source.ts';
import { findInstallMedium } from './fetch.ts';
import type { BlockDevice } from './system.ts';
import { COMPLETE_MARKER, PLAN_MARKER, installationDate, randomLabelSuffix } from './unattended.ts';

export const INTERACTIVE_MARKER = 'XSFORGE-INTERACTIVE';

export interface InteractiveOptions extends InstallerRunOptions {
  disks: (DetectedDisk & Partial<Pick<BlockDevice, 'vendor' | 'model'>>)[];
  consoles: Consoles;
  /** the install log file (copied to the target) */
  logFile: string;
  /** where tzdata is (tests) */
  zoneinfoDir?: string;
}

/** A console sink whose destination changes: the install screen while the UI runs, the consoles afterwards. */
class SwitchableSink implements LineSink {
  target: (line: string) => void = () => {};
  line(text = ''): void {
    for (const l of text.replace(/\n$/, '').split('\n')) this.target(l);
  }
}

/** Each console opened for reading in raw mode, merged into one stream; `close` puts the modes back and closes them. */
function openConsoleInput(paths: string[]): { input: PassThrough; count: number; close(): void } {
  const input = new PassThrough();
  const streams: ReadStream[] = [];
  for (const path of paths) {
    try {
      const fd = openSync(path, 'r');
      if (!isatty(fd)) continue;
      const s = new ReadStream(fd);
      s.setRawMode(true);
      s.on('data', (c) => input.write(c));
      s.on('error', () => { /* a console that goes away leaves the others */ });
      streams.push(s);
    } catch { /* not readable: output only */ }
  }
  return {
    input,
    count: streams.length,
    close() {
      for (const s of streams) {
        try { s.setRawMode(false); } catch { /* gone */ }
        s.destroy();
      }
    },
  };
}

/** Frames to every console, written synchronously (the UI redraws whole screens; order matters). */
function consoleOutput(consoles: Consoles): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const t of consoles.targets) {
        try { writeSync(t.fd, chunk); } catch { /* a hung-up console must not stop the others */ }
      }
      cb();
    },
  });
}

/** The installation source's first repository as the TUI's config names it. */
function mainSource(config: InstallConfig) {
  if (config.kind !== 'install' || !config.sources[0]) throw new XsforgeError('The answers name no installation source.');
  return config.sources[0];
}

export async function runInteractive(o: InteractiveOptions): Promise<InteractiveResult> {
  const sink = new SwitchableSink();
  const log = new InstallLog(sink, o.logFile);
  const env: ExecuteEnv = {
    log, workDir: o.workDir, sysRoot: o.sysRoot, devRoot: o.devRoot, excludeDisks: [], mounted: [],
    targetRoot: o.targetRoot, efivarsDir: o.efivarsDir, logFiles: [o.logFile, o.planFile],
  };
  // the release on the booted CD, if any, for the title; the chosen source decides (verifySource)
  let product = await bootMediumProduct(env, o.product, o.disks.map((d) => d.path));
  // made once: the plan shown on the confirm screen is the plan carried out
  const planOptions: PlanOptions = {
    uefi: o.uefi,
    labelSuffix: randomLabelSuffix(),
    uuids: { installation: randomUUID(), controlDomain: randomUUID(), sr: randomUUID() },
    product,
    passwordSalt: cryptSaltFromBytes(randomBytes(16)),
    installationDate: installationDate(new Date()),
    nics: o.nics,
  };
  const plan = (config: InstallConfig): InstallPlan => planInstall(config, o.disks, o.cmdline, planOptions);
  let networkUp = false;
  const network = async (setup: InteractiveSetup) => {
    if (networkUp || !setup.installerNetwork) return;
    const n = setup.installerNetwork;
    await bringUpNetwork(log, n.config, n.device, o.nics);
    networkUp = true;
  };
  let lastPlan: InstallPlan | undefined;

  const context: TuiContext = {
    disks: o.disks.map((d) => ({ name: d.name, path: d.path, sizeBytes: d.sizeBytes, ...(d.vendor && { vendor: d.vendor }), ...(d.model && { model: d.model }) })),
    nics: o.nics.map((n) => ({ name: n.name, mac: n.mac, ...(n.driver && { driver: n.driver }), ...(n.carrier !== undefined && { carrier: n.carrier }) })),
    // installations and backups on the disks: the action screen offers upgrade and restore only when found
    detection: await detectForMenu(env, o.disks).catch((e: Error) => {
      log.detail(`detection of installations and backups failed: ${e.message.split('\n')[0]}`);
      return { installations: [], backups: [] };
    }),
    eulaText: readEula([INSTALLER_EULA]),
    timezones: readTimezones(o.zoneinfoDir),
    productVersion: product.version,
    brand: o.product.brand,
    ...(o.cmdline.keymap && { defaultKeymap: o.cmdline.keymap }),
    now: installationDate(new Date()).slice(0, 16),
    planSummary: (config) => (config.kind === 'restore' || config.mode === 'upgrade' ? plannedLater(config) : formatInstallPlan(plan(config))),
    async verifySource(config, setup): Promise<CheckResult> {
      const lines: string[] = [];
      sink.target = (l) => lines.push(l);
      try {
        await network(setup);
        const source = await openSource(env, mainSource(config), ROOT_IMAGE_PATH, ROOT_MANIFEST_PATH);
        product = productOfSource(o.product, await readSourceProduct(env, source), source.where);
        planOptions.product = product;
        if (source.dir) await verifyProductRepository(env, source.dir);
        return { ok: true };
      } catch (e) {
        return { ok: false, error: (e as Error).message.trim() || String(e) };
      } finally {
        await unmountAll(env).catch(() => undefined);
        sink.target = () => {};
      }
    },
    async install(config, setup, progress) {
      sink.target = progress;
      try {
        await network(setup);
        await carryOut(config, env, {
          product, disks: o.disks, uefi: o.uefi, installationDate: planOptions.installationDate, planFile: o.planFile,
          planMarker: PLAN_MARKER, completeMarker: COMPLETE_MARKER, planText: 'detail',
          planFresh: (c) => (lastPlan = plan(c)),
        });
      } catch (e) {
        await unmountAll(env).catch(() => undefined);
        throw e;
      } finally {
        sink.target = () => {};
      }
    },
  };

  const consoleInput = openConsoleInput(o.consoles.targets.map((t) => t.path));
  if (consoleInput.count === 0) {
    o.consoles.line('The interactive installer needs a console to read keys from; none could be opened.');
    return { cancelled: true, reason: 'input-closed' };
  }
  o.consoles.line(`${INTERACTIVE_MARKER} consoles=${o.consoles.targets.map((t) => t.name).join(',')}`);
  let result: InteractiveResult;
  try {
    result = await runInteractiveInstall({ input: consoleInput.input, output: consoleOutput(o.consoles) }, context);
  } finally {
    consoleInput.close();
  }
  sink.target = (l) => o.consoles.line(l);
  // clear the last frame off the screen before plain lines follow
  o.consoles.line('\x1b[0m\x1b[2J\x1b[H');
  if ('cancelled' in result) {
    log.say(`${INTERACTIVE_MARKER} cancelled reason=${result.reason}; no disk has been changed.`);
  } else if (result.installed && result.saveAs && lastPlan) {
    await saveAnswerFile(env, lastPlan, result.saveAs, result.answerFile, result.answerFileError);
  } else if (result.installed === false) {
    log.say(`${INTERACTIVE_MARKER} install failed: ${result.installError}`);
  }
  return result;
}

/** The answers as an answer file at `saveAs` on the installed root (mounted again for it: executePlan unmounted it). */
async function saveAnswerFile(env: ExecuteEnv, plan: InstallPlan, saveAs: string, answerFile: string | undefined, why: string | undefined): Promise<void> {
  if (answerFile === undefined) {
    env.log.say(`The answers could not be saved as an answer file: ${why ?? 'unknown reason'}`);
    return;
  }
  const root = plan.mounts.find((m) => m.mountPoint === '/');
  if (!root) return;
  try {
    mkdirSync(env.targetRoot, { recursive: true });
    await env.log.run(['mount', '-t', 'ext3', root.device, env.targetRoot]);
    env.mounted.push(env.targetRoot);
    const file = join(env.targetRoot, saveAs);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, answerFile, { mode: 0o600 });
    env.log.say(`The answers were saved as ${saveAs} on the installed host.`);
  } catch (e) {
    env.log.say(`The answers could not be saved as ${saveAs}: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    await unmountAll(env).catch(() => undefined);
  }
}

/**
 * The product on the optical medium the installer booted from (hard disks, the
 * USB sticks among them, are not mounted here: a disk's journal must not be
 * replayed before the user has chosen anything); install.img's identity otherwise.
 */
async function bootMediumProduct(env: ExecuteEnv, installer: ProductInfo, disks: string[]): Promise<ProductInfo> {
  const excluded = env.excludeDisks;
  env.excludeDisks = disks;
  try {
    const dir = await findInstallMedium(env, ROOT_IMAGE_PATH);
    return productOfSource(installer, await readSourceProduct(env, { dir, where: dir }), dir);
  } catch {
    return installer;
  } finally {
    await unmountAll(env).catch(() => undefined);
    env.excludeDisks = excluded;
  }
}

/** The confirm screen's text for an upgrade or restore: its plan needs the disk read, which happens when it is carried out (and is logged). */
function plannedLater(config: InstallConfig): string {
  if (config.kind === 'restore') return `Restore the backup${config.backupDisk ? ` on ${config.backupDisk}` : ''}: the backed-up root and its bootloader replace the current ones; virtual machine storage is not touched. The detailed plan is read from the disk and logged before anything is written.`;
  if (config.kind === 'install' && config.mode === 'upgrade') return `Upgrade the installation on ${config.existingInstallation}: it is copied to the backup partition first, settings are carried over, virtual machine storage is not touched. The detailed plan is read from the disk and logged before anything is written.`;
  return '';
}
