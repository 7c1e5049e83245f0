// One path from an InstallConfig to a changed disk, shared by the unattended
// installer (answer file) and the interactive one (its answers): restore,
// upgrade, or a fresh/reinstall install from a plan. Each writes its plan file
// and the plan marker line before the disk is touched.
import { writeFileSync } from 'node:fs';
import type { InstallConfig } from '../../answerfiles/model.ts';
import { executePlan, unmountAll, type ExecuteEnv } from './execute.ts';
import type { InstallerCmdline } from './cmdline.ts';
import { formatInstallPlan, installPlanJson, scriptsByStage, type DetectedDisk, type InstallPlan, type ProductInfo } from './plan.ts';
import { runStageScripts } from './scripts.ts';
import type { Nic } from './system.ts';
import { reinstallHooks, restoreFromBackup, upgradeInstallation, type UpgradeContext } from './upgrade.ts';
import type { UpdateMedium } from './update-media.ts';

/** What both installers are started with (main.ts fills it from the machine). */
export interface InstallerRunOptions {
  cmdline: InstallerCmdline;
  product: ProductInfo;
  disks: DetectedDisk[];
  nics: Nic[];
  uefi: boolean;
  sysRoot: string;
  devRoot: string;
  targetRoot: string;
  workDir: string;
  efivarsDir: string;
  /** the plan is written here as JSON (and copied to the target with the log) */
  planFile: string;
}

export interface CarryOutContext extends UpgradeContext {
  /** the plan of a fresh install or reinstall (made by the caller: the interactive confirm screen showed this one) */
  planFresh: (config: InstallConfig) => InstallPlan;
  /** said to the log once the disk is done (before installation-complete scripts) */
  completeMarker: string;
  /** plain lines for the console/log (plan text goes to `detail` when the UI owns the screen) */
  planText?: 'say' | 'detail';
}

/** Carry out `config`; runs the installation-complete scripts with 0 on success. Throws before touching the disk when a check fails. */
export async function carryOut(config: InstallConfig, env: ExecuteEnv, ctx: CarryOutContext, drivers?: UpdateMedium[]): Promise<{ disk: string; labelSuffix: string }> {
  const { log } = env;
  let done: { disk: string; labelSuffix: string };
  if (config.kind === 'restore' || config.mode === 'upgrade') {
    done = config.kind === 'restore' ? await restoreFromBackup(config, env, ctx) : await upgradeInstallation(config, env, ctx, drivers);
    await unmountAll(env).catch(() => undefined);
    await runStageScripts(env, 'installation-complete', scriptsByStage(config.scripts)['installation-complete'], ['0'], false);
  } else {
    const plan = ctx.planFresh(config);
    env.excludeDisks = [plan.target.path];
    writeFileSync(ctx.planFile, installPlanJson(plan) + '\n');
    log.say(`${ctx.planMarker} disk=${plan.target.path} table=${plan.layout.tableType} boot=${plan.bootMode} labels=${plan.labelSuffix} plan=${ctx.planFile}`);
    if (ctx.planText === 'detail') log.detail(formatInstallPlan(plan));
    else log.say(formatInstallPlan(plan));
    // a reinstall finds and checks the old installation now, before the disk is touched
    const hooks = plan.mode === 'reinstall' ? await reinstallHooks(plan, env, { disks: ctx.disks, product: ctx.product, uefi: ctx.uefi }) : {};
    await executePlan(plan, env, drivers, hooks);
    await unmountAll(env).catch(() => undefined);
    await runStageScripts(env, 'installation-complete', plan.scripts['installation-complete'], ['0'], false);
    done = { disk: plan.target.path, labelSuffix: plan.labelSuffix };
  }
  log.say(`${ctx.completeMarker} disk=${done.disk} labels=${done.labelSuffix}`);
  return done;
}
