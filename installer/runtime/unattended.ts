// The unattended install: answer file (or generator) → InstallConfig → plan →
// execute, with the network brought up when something is remote. Any error ends
// in the product's "An unrecoverable error has occurred" text on every console,
// installation-complete scripts called with 1, and the markers tests wait for.
import { randomBytes, randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { XsforgeError } from '../../core/errors.ts';
import { findOnPath } from '../../core/which.ts';
import { parseAnswerFile } from '../../answerfiles/parse.ts';
import { unrecoverableErrorText, type InstallConfig } from '../../answerfiles/model.ts';
import { unmountAll, type ExecuteEnv } from './execute.ts';
import { fetchText, isNetworkUrl } from './fetch.ts';
import type { InstallLog } from './log.ts';
import { bringUpNetwork } from './network.ts';
import { planInstall, ROOT_IMAGE_PATH, ROOT_MANIFEST_PATH, scriptsByStage, type DetectedDisk } from './plan.ts';
import { carryOut, type InstallerRunOptions } from './carry-out.ts';
import { runGenerator, runStageScripts } from './scripts.ts';
import { cryptSaltFromBytes } from './sha512crypt.ts';
import { openSource, productOfSource, readSourceProduct } from './source.ts';
import { loadDriverModules, prepareUpdateMedia, type ModuleEnv, type UpdateMedium } from './update-media.ts';

export const PLAN_MARKER = 'XSFORGE-INSTALL-PLAN';
export const COMPLETE_MARKER = 'XSFORGE-INSTALL-COMPLETE';
export const FAILED_MARKER = 'XSFORGE-INSTALL-FAILED';

export interface UnattendedOptions extends InstallerRunOptions {
  log: InstallLog;
  /** lists the disks again after driver disks were loaded (their modules may add disks); default: `disks` as given */
  probeDisks?: () => DetectedDisk[];
  /** where driver-disk modules go and the running kernel (tests); default / and uname -r */
  modules?: ModuleEnv;
}

export class AnswerFileError extends XsforgeError {}

/** `2018-08-01 12:00:00` in UTC, the shape of the product's INSTALLATION_DATE. */
export function installationDate(d: Date): string {
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}

export function randomLabelSuffix(): string {
  return [...randomBytes(6)].map((b) => String.fromCharCode(97 + (b % 26))).join('');
}

/** The answer file's locations that need a network, besides the answer file itself. */
function configNeedsNetwork(config: InstallConfig): boolean {
  const urls = config.scripts.map((s) => s.url);
  if (config.kind === 'install') {
    for (const s of [...config.sources, ...config.driverSources]) {
      if (s.type === 'nfs' || (s.type === 'url' && isNetworkUrl(s.address))) return true;
    }
  }
  return urls.some(isNetworkUrl);
}

export async function runUnattended(o: UnattendedOptions): Promise<'complete' | 'failed'> {
  const { log, cmdline } = o;
  const env: ExecuteEnv = {
    log, workDir: o.workDir, sysRoot: o.sysRoot, devRoot: o.devRoot, excludeDisks: [], mounted: [],
    targetRoot: o.targetRoot, efivarsDir: o.efivarsDir, logFiles: log.file ? [log.file, o.planFile] : [o.planFile],
  };
  let config: InstallConfig | undefined;
  let networkUp = false;
  const network = async () => {
    if (networkUp) return;
    await bringUpNetwork(log, cmdline.networkConfig, cmdline.answerfileDevice, o.nics);
    networkUp = true;
  };

  try {
    const url = cmdline.answerfileGenerator ?? cmdline.answerfile!;
    if (isNetworkUrl(url)) await network();
    let text: string;
    if (cmdline.answerfileGenerator) {
      log.say(`Running the answer file generator ${url}`);
      text = await runGenerator(env, url);
    } else {
      log.say(`Fetching the answer file ${url}`);
      try {
        text = await fetchText(env, url);
      } catch (e) {
        throw new AnswerFileError(`Unable to fetch the answer file ${url}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    const parsed = parseAnswerFile(text, { generated: cmdline.answerfileGenerator !== undefined });
    for (const w of parsed.warnings) log.detail(`answer file warning: ${w}`);
    if (!parsed.config) {
      throw new AnswerFileError(parsed.errors.map((e) => `${e.message}${e.line !== undefined ? ` (line ${e.line})` : ''}${e.detail ? `: ${e.detail}` : ''}`).join('\n'));
    }
    config = parsed.config;
    log.say('The answer file is valid');
    if (configNeedsNetwork(config)) await network();

    // driver disks first (seed: "loaded before everything else"): their modules may be what makes the disks visible
    let drivers: UpdateMedium[] | undefined;
    let disks = o.disks;
    if (config.kind === 'install' && config.driverSources.length) {
      drivers = await prepareUpdateMedia(env, config.driverSources, 'driver disk');
      for (const d of drivers) await loadDriverModules({ ...env, ...o.modules }, d);
      if (o.probeDisks) {
        if (findOnPath('udevadm')) await log.run(['udevadm', 'settle', '--timeout=30']).catch(() => undefined);
        disks = o.probeDisks();
        log.say(`Disks after loading the driver disks: ${disks.map((d) => d.path).join(' ') || 'none'}`);
      }
    }

    // the release comes from the source's .treeinfo (one install.img serves every release of the line)
    let product = o.product;
    if (config.kind === 'install' && config.sources[0]) {
      const opened = await openSource(env, config.sources[0], ROOT_IMAGE_PATH, ROOT_MANIFEST_PATH);
      product = productOfSource(o.product, await readSourceProduct(env, opened), opened.where);
      log.say(`Installation source ${opened.where}: ${product.brand} ${product.version || '(no version in .treeinfo)'} (build ${product.build_number || '?'})`);
    }

    await carryOut(config, env, {
      product, disks, uefi: o.uefi, installationDate: installationDate(new Date()), planFile: o.planFile, planMarker: PLAN_MARKER, completeMarker: COMPLETE_MARKER,
      planFresh: (c) => planInstall(c, disks, cmdline, {
        uefi: o.uefi,
        labelSuffix: randomLabelSuffix(),
        uuids: { installation: randomUUID(), controlDomain: randomUUID(), sr: randomUUID() },
        product,
        passwordSalt: cryptSaltFromBytes(randomBytes(16)),
        installationDate: installationDate(new Date()),
        nics: o.nics,
      }),
    }, drivers);
    return 'complete';
  } catch (e) {
    const err = e as Error;
    const cause = err.message.trim() || String(err);
    log.say(unrecoverableErrorText(cause));
    if (err instanceof XsforgeError && err.hint) log.detail(`hint: ${err.hint}`);
    if (!(err instanceof XsforgeError)) log.detail(err.stack ?? String(err));
    await unmountAll(env).catch(() => undefined);
    if (config) await runStageScripts(env, 'installation-complete', scriptsByStage(config.scripts)['installation-complete'], ['1'], false);
    log.say(`${FAILED_MARKER} reason=${cause.split('\n')[0]}`);
    return 'failed';
  }
}

/** The default location of the plan file beside the log. */
export function planFileBeside(logFile: string | undefined, workDir: string): string {
  return join(logFile ? dirname(logFile) : workDir, 'install-plan.json');
}
