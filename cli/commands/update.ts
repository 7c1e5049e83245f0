// xsforge update build|validate: update ISOs (supplemental packs, driver disks,
// hotfixes, cumulative updates) from a YAML spec, SPEC section 6. A bad spec
// fails with file:line:col messages before anything is written.
import type { Command } from '@commander-js/extra-typings';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { StageCache, defaultCacheRoot } from '../../core/cache.ts';
import { collectStages, runGraph } from '../../core/engine.ts';
import { XsforgeError } from '../../core/errors.ts';
import { pickReporter } from '../../core/events.ts';
import { outputIsCurrent, publish } from '../../core/output.ts';
import { requireTool, type ToolName } from '../../core/tools.ts';
import { buildUpdate, type UpdateSigningOptions } from '../../updates/build.ts';
import { loadUpdateSpec, validateUpdateSpec, type UpdateSpecOverrides } from '../../updates/load.ts';
import { DEFAULT_CONTROL_LICENSE, DEFAULT_UPDATE_EPOCH, updateUuid, type UpdateSpec } from '../../updates/model.ts';
import { buildRollup, type BuiltRollup } from '../../updates/rollup-build.ts';
import { formatRollupReport } from '../../updates/rollup.ts';
import { UPDATE_PATTERNS } from '../../updates/schema.ts';
import { formatIssue, loadRecipe, type LoadedRecipe } from '../../recipes/load.ts';
import { mediaProductVersion, planIsoBuild } from '../pipeline.ts';
import { DEFAULT_RECIPE, epochFor } from '../shared.ts';

interface OverrideFlags {
  productVersion?: string;
  platformVersion?: string;
  kernelRelease?: string;
  sourceDateEpoch?: string;
}

/** Flags win over the spec; SOURCE_DATE_EPOCH from the environment wins over the spec's too. */
export function overridesFrom(o: OverrideFlags, env: NodeJS.ProcessEnv = process.env): UpdateSpecOverrides {
  const epochText = o.sourceDateEpoch ?? (env.SOURCE_DATE_EPOCH || undefined);
  if (epochText !== undefined && !/^\d+$/.test(epochText)) throw new XsforgeError(`SOURCE_DATE_EPOCH must be a whole number of seconds, got '${epochText}'`);
  if (epochText !== undefined && Number(epochText) < 86400) throw new XsforgeError(`SOURCE_DATE_EPOCH ${epochText} is before 1970-01-02, which rpm's %changelog cannot date`);
  const dotted = (v: string | undefined, flag: string) => {
    if (v !== undefined && !/^[0-9]+(\.[0-9]+)*$/.test(v)) throw new XsforgeError(`${flag} ${v} is not a version of dot-separated numbers (e.g. 7.1.2)`);
    return v;
  };
  if (o.kernelRelease !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._+~-]*$/.test(o.kernelRelease)) throw new XsforgeError(`--kernel-release ${o.kernelRelease} is not a kernel release as uname -r prints it`);
  return {
    ...(dotted(o.productVersion, '--product-version') ? { productVersion: o.productVersion } : {}),
    ...(dotted(o.platformVersion, '--platform-version') ? { platformVersion: o.platformVersion } : {}),
    ...(o.kernelRelease ? { kernelRelease: o.kernelRelease } : {}),
    ...(epochText !== undefined ? { sourceDateEpoch: Number(epochText) } : {}),
  };
}

export function register(program: Command): void {
  const update = program.command('update').description('update ISOs: supplemental packs, driver disks, hotfixes and cumulative updates (SPEC section 6)');

  update.command('build')
    .description('build DIR/<name-label>.iso (and its tree DIR/<name-label>/) from an update spec')
    .argument('<spec>', 'update spec (YAML), e.g. examples/updates/XS71ECU2001.yaml')
    .requiredOption('--out <dir>', 'where the ISO and its tree go (replaced when there)')
    .option('--sign-key <key>', 'gpg key (id, fingerprint or user id) that signs the RPMs, repodata/repomd.xml and update.xml')
    .option('--gnupg-home <dir>', 'keyring directory (default $GNUPGHOME, then ~/.gnupg)')
    .option('--passphrase-file <file>', 'file holding the signing key\'s passphrase (default: gpg-agent)')
    .option('--product-version <v>', 'product-version hotfixes and cumulative updates require (default: the spec\'s, else 7.1.2)')
    .option('--platform-version <v>', 'platform-version supplemental packs require (default: the spec\'s, else 2.2.0)')
    .option('--kernel-release <r>', 'driver disks: the dom0 kernel release (uname -r), instead of the spec\'s')
    .option('--source-date-epoch <n>', 'seconds since 1970 for every timestamp (default $SOURCE_DATE_EPOCH, the spec\'s, else 1644364800)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
The ISO holds update.xml, a yum repository (Packages/, repodata/ with the comps
group "update", and "drivers" for driver disks) and the control package
control-<name-label>, whose dependencies are the update's prerequisites and
conflicts and which installs /var/update/applied/<uuid>. Signed builds add
update.xml.asc, repodata/repomd.xml.asc and RPM-GPG-KEY-<key>.

Examples:
  xsforge update build examples/updates/XS71ECU2001.yaml --out output/updates
  xsforge update build examples/updates/xsforge-demo-nic-driver.yaml --kernel-release 6.1.0-50-amd64 --out output/updates --sign-key release@example.com`)
    .action(async (specPath, o) => {
      const spec = loadUpdateSpec(specPath, overridesFrom(o));
      const r = await buildUpdate(spec, {
        out: o.out,
        ...(o.signKey ? { signing: { key: o.signKey, gnupgHome: o.gnupgHome, passphraseFile: o.passphraseFile } } : {}),
      });
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ type: 'result', ...r }, null, 2)}\n`);
        return;
      }
      const L = [
        `wrote ${r.iso} (${r.isoBytes} bytes, sha256 ${r.isoSha256})`,
        `  tree      ${r.tree}`,
        `  update    ${r.update.nameLabel} ${r.update.version} (${spec.kind}), uuid ${r.update.uuid}, installation-size ${r.installationSize}`,
        `  guidance  ${r.update.afterApplyGuidance.join(',') || '(none)'}`,
        `  control   ${r.control.nevra}`,
        `    requires  ${r.control.requires.join(', ')}`,
        `    provides  ${r.control.provides.join(', ')}`,
        ...(r.control.conflicts.length ? [`    conflicts ${r.control.conflicts.join(', ')}`] : []),
        `  packages  ${r.packages.filter((p) => !p.control).map((p) => p.nevra).join(', ')}`,
        `  groups    ${r.groups.map((g) => `${g.id} (${g.packages.length})`).join(', ')}`,
        `  ${r.signed ? `signed by ${r.keyId} (${r.fingerprint})` : 'unsigned (give --sign-key to sign)'}`,
        `  ${(r.durationMs / 1000).toFixed(1)} s`,
      ];
      process.stdout.write(`${L.join('\n')}\n`);
    });

  update.command('validate')
    .description('check an update spec without building it; every problem as file:line:col')
    .argument('<spec>', 'update spec (YAML)')
    .option('--kernel-release <r>', 'as for build')
    .option('--product-version <v>', 'as for build')
    .option('--platform-version <v>', 'as for build')
    .option('--json', 'print {file, valid, errors, update} as JSON')
    .action((specPath, o) => {
      const v = validateUpdateSpec(specPath, overridesFrom(o));
      const summary = v.spec && { kind: v.spec.kind, name_label: v.spec.nameLabel, uuid: v.spec.uuid, version: v.spec.version, packages: v.spec.packages.length + v.spec.rpmFiles.length };
      if (o.json) process.stdout.write(`${JSON.stringify({ file: v.file, valid: v.valid, errors: v.errors, ...(summary ? { update: summary } : {}) }, null, 2)}\n`);
      else if (v.valid && summary) process.stdout.write(`${v.file}: valid (${summary.kind} ${summary.name_label} ${summary.version}, uuid ${summary.uuid}, ${summary.packages} package${summary.packages === 1 ? '' : 's'})\n`);
      else process.stderr.write(`${v.errors.map(formatIssue).join('\n')}\n`);
      if (!v.valid) process.exitCode = 1;
    });

  update.command('rollup')
    .description('roll hotfixes up into a cumulative update: its update ISO, the hotfixes again with <rolled-up-by>, the superseded list and change report, and the CU base-install ISO')
    .argument('<hotfix...>', 'hotfix specs (YAML), in release order')
    .requiredOption('--out <dir>', 'where everything goes: <CU>.iso, rolled-up/, previous/, rollup-report.json, <base recipe name>-<cu>/ (replaced when there)')
    .option('--cu <spec>', 'the cumulative update\'s spec (kind cumulative-update; rpms may be left out), e.g. examples/updates/XS71ECU3.yaml')
    .option('--name-label <name>', 'without --cu: the CU\'s name-label')
    .option('--cu-version <v>', 'without --cu: the CU\'s version (default 1.0)')
    .option('--description <text>', 'without --cu: the CU\'s name-description')
    .option('--guidance <list>', 'without --cu: after-apply-guidance, comma-separated (default restartHost)')
    .option('--previous <spec...>', 'the cumulative updates before this one, oldest first (the last is the one this CU requires; the change report compares with them, the base-install ISO carries them)')
    .option('--base-recipe <file>', 'the base release the CU applies to (its base-install ISO is built from it)', DEFAULT_RECIPE)
    .option('--base-install-version <x.y.z>', 'product version of the base-install ISO (default: the CU spec\'s base_install_product_version, else the base recipe\'s)')
    .option('--no-base-iso', 'skip the base-install ISO')
    .option('--cache <dir>', 'stage cache for the base-install ISO (default $XSFORGE_CACHE or ~/.cache/xsforge)')
    .option('--sign-key <key>', 'gpg key that signs every update ISO and the base-install ISO\'s repository')
    .option('--gnupg-home <dir>', 'keyring directory (default $GNUPGHOME, then ~/.gnupg)')
    .option('--passphrase-file <file>', 'file holding the signing key\'s passphrase (default: gpg-agent)')
    .option('--source-date-epoch <n>', 'seconds since 1970 for the update ISOs (default $SOURCE_DATE_EPOCH, each spec\'s, else 1644364800)')
    .option('--json', 'print the report (also written to out/rollup-report.json) and where things are as JSON')
    .addHelpText('after', `
The cumulative update holds the newest build (rpm's version order) of every
package across the hotfixes (and the CU spec's own packages); its control
package requires the previous CU and provides xsforge-update(<hotfix>) for each
hotfix, so hosts with the CU count them as applied. Each hotfix is rebuilt
under out/rolled-up/ with <rolled-up-by name-label=CU uuid=...> in update.xml.
The base-install ISO is the base recipe's media with the previous CUs and this
one built in (recipe field updates.include, written to out/<name>.yaml): a fresh
install has them applied. Its other stages come from the stage cache.

Example:
  xsforge update rollup examples/updates/XS71ECU2001.yaml examples/updates/XS71ECU2002.yaml \\
    --cu examples/updates/XS71ECU3.yaml --previous examples/updates/XS71ECU1.yaml examples/updates/XS71ECU2.yaml --out output/rollup`)
    .action(async (hotfixPaths, o) => {
      const ov = overridesFrom(o);
      const hotfixes = hotfixPaths.map((p) => loadUpdateSpec(p, ov));
      const previous = (o.previous ?? []).map((p) => loadUpdateSpec(p, ov, { allowEmptyPayload: true }));
      const cu = o.cu ? loadUpdateSpec(o.cu, ov, { allowEmptyPayload: true }) : cuFromFlags(o, hotfixes, ov);
      const baseVersion = o.baseInstallVersion ?? cu.baseInstallProductVersion;
      if (baseVersion !== undefined && !/^[0-9]+\.[0-9]+\.[0-9]+$/.test(baseVersion)) throw new XsforgeError(`--base-install-version ${baseVersion} is not x.y.z (e.g. 7.1.3)`);
      const base = o.baseIso ? loadRecipe(o.baseRecipe) : undefined;
      const out = resolve(o.out);
      const signing: UpdateSigningOptions | undefined = o.signKey ? { key: o.signKey, gnupgHome: o.gnupgHome, passphraseFile: o.passphraseFile } : undefined;
      const log = o.json ? undefined : (line: string) => process.stderr.write(`${line}\n`);
      const rollup = await buildRollup({ cu, hotfixes, previous }, { out, ...(signing ? { signing } : {}), ...(log ? { log } : {}) });
      let media: BaseIsoResult | undefined;
      if (base) {
        // the build graph's signing looks the key up in $GNUPGHOME (as `xsforge build --sign-key` does)
        if (o.gnupgHome) process.env.GNUPGHOME = resolve(o.gnupgHome);
        if (rollup.plan.media.unmet.length) {
          throw new XsforgeError(`the base-install ISO cannot carry ${cu.nameLabel}: ${rollup.plan.media.unmet.join('; ')}, and no --previous spec gives it`,
            'list every earlier cumulative update with --previous (oldest first), or leave the base-install ISO out with --no-base-iso');
        }
        media = await buildBaseIso(base, rollup, { out, productVersion: baseVersion, cache: o.cache, signKey: o.signKey, json: !!o.json });
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify({
          type: 'result', cuIso: rollup.cu.iso, report: rollup.reportFile, rolledUpIsos: rollup.rolledUp.map((r) => r.iso),
          ...(media ? { baseIso: media.iso, baseRecipe: media.recipeFile, baseProductVersion: media.productVersion } : {}),
          durationMs: rollup.durationMs + (media?.durationMs ?? 0), ...rollup.report,
        }, null, 2)}\n`);
        return;
      }
      const L = [
        ...formatRollupReport(rollup.plan),
        '',
        `cumulative update ISO  ${rollup.cu.iso}`,
        `  control  ${rollup.cu.control.nevra}`,
        `    requires  ${rollup.cu.control.requires.join(', ')}`,
        `    provides  ${rollup.cu.control.provides.join(', ')}`,
        `rolled-up hotfixes     ${rollup.rolledUp.map((r) => r.iso).join('\n                       ')}`,
        ...(rollup.previous.length ? [`previous CUs           ${rollup.previous.map((r) => r.iso).join(', ')}`] : []),
        ...(media ? [`base-install ISO       ${media.iso} (product version ${media.productVersion}; recipe ${media.recipeFile})`] : ['base-install ISO       (not built: --no-base-iso)']),
        `report                 ${rollup.reportFile}`,
        `${((rollup.durationMs + (media?.durationMs ?? 0)) / 1000).toFixed(1)} s (updates ${(rollup.durationMs / 1000).toFixed(1)} s${media ? `, base-install ISO ${(media.durationMs / 1000).toFixed(1)} s` : ''})`,
      ];
      process.stdout.write(`${L.join('\n')}\n`);
    });
}

interface CuFlags {
  nameLabel?: string;
  cuVersion?: string;
  description?: string;
  guidance?: string;
  previous?: string[];
}

/** A cumulative update described by flags: identity from them, key and product version from the hotfixes. */
export function cuFromFlags(o: CuFlags, hotfixes: UpdateSpec[], ov: UpdateSpecOverrides): UpdateSpec {
  if (!o.nameLabel || !o.description) throw new XsforgeError('the cumulative update needs --cu SPEC, or --name-label and --description', 'e.g. --cu examples/updates/XS71ECU3.yaml');
  if (!new RegExp(UPDATE_PATTERNS.nameLabel.regex).test(o.nameLabel)) throw new XsforgeError(`--name-label ${o.nameLabel} is not ${UPDATE_PATTERNS.nameLabel.words}`);
  const version = o.cuVersion ?? '1.0';
  if (!new RegExp(UPDATE_PATTERNS.updateVersion.regex).test(version)) throw new XsforgeError(`--cu-version ${version} is not ${UPDATE_PATTERNS.updateVersion.words}`);
  const guidance = (o.guidance ?? 'restartHost').split(',').map((g) => g.trim()).filter(Boolean);
  const allowed = ['restartHVM', 'restartPV', 'restartHost', 'restartXAPI'];
  for (const g of guidance) if (!allowed.includes(g)) throw new XsforgeError(`--guidance ${g} is not one of ${allowed.join(', ')}`);
  const keys = [...new Set(hotfixes.map((h) => h.key))];
  const products = [...new Set(hotfixes.map((h) => h.productVersion))];
  return {
    kind: 'cumulative-update', nameLabel: o.nameLabel, uuid: updateUuid(o.nameLabel, version), version, description: o.description,
    guidance: guidance as UpdateSpec['guidance'], ...(keys.length === 1 && keys[0] ? { key: keys[0] } : {}),
    productVersion: ov.productVersion ?? products[0] ?? '7.1.2', platformVersion: ov.platformVersion ?? '2.2.0',
    requires: [], conflicts: [], rollsUp: [], livepatch: false, enforceHomogeneity: false, license: DEFAULT_CONTROL_LICENSE,
    sourceDateEpoch: ov.sourceDateEpoch ?? DEFAULT_UPDATE_EPOCH, rpmFiles: [], packages: [],
  };
}

interface BaseIsoResult {
  iso: string;
  recipeFile: string;
  productVersion: string;
  durationMs: number;
}

/** The base recipe with the CUs built in, as a recipe file beside them (so `xsforge build` can rebuild it). */
export function baseIsoRecipeText(base: LoadedRecipe, recipeFile: string, rollup: Pick<BuiltRollup, 'plan' | 'cu' | 'previous'>, productVersion: string | undefined): { name: string; text: string } {
  const name = `${base.name}-${rollup.plan.cu.nameLabel.toLowerCase()}`;
  const dir = dirname(recipeFile);
  const include = [...rollup.previous.map((p) => p.tree), rollup.cu.tree].map((t) => relative(dir, t));
  const text = [
    `# Written by \`xsforge update rollup\`: the base-install media of ${rollup.plan.cu.nameLabel}`,
    `# (${base.name} with ${rollup.plan.media.updates.join(', ')} built in; seed:222-260).`,
    `name: ${name}`,
    `extends: ${JSON.stringify(relative(dir, base.$file))}`,
    `updates:`,
    ...(productVersion ? [`  product_version: ${JSON.stringify(productVersion)}`] : []),
    `  include:`,
    ...include.map((i) => `    - ${JSON.stringify(i)}`),
    '',
  ].join('\n');
  return { name, text };
}

async function buildBaseIso(base: LoadedRecipe, rollup: BuiltRollup, o: { out: string; productVersion?: string; cache?: string; signKey?: string; json: boolean }): Promise<BaseIsoResult> {
  const started = Date.now();
  const provisional = join(o.out, `${base.name}-${rollup.plan.cu.nameLabel.toLowerCase()}.yaml`);
  const { name, text } = baseIsoRecipeText(base, provisional, rollup, o.productVersion);
  await mkdir(o.out, { recursive: true });
  await writeFile(provisional, text);
  const recipe = loadRecipe(provisional);
  const cacheRoot = o.cache ?? defaultCacheRoot();
  const graph = await planIsoBuild(recipe, { cacheRoot, ...(o.signKey ? { signKey: o.signKey } : {}) });
  const tools = new Set<ToolName>(['apt-get']);
  for (const s of collectStages(graph.targets)) for (const t of s.tools ?? []) tools.add(t);
  for (const t of tools) requireTool(t);
  const reporter = pickReporter({ quiet: o.json });
  let results;
  try {
    results = await runGraph(graph.targets, { cache: new StageCache(cacheRoot), reporter, jobs: 2, sourceDateEpoch: epochFor(recipe), scope: recipe.name });
  } finally {
    reporter.close();
  }
  // only the ISO is published: the repository and boot files are inside it
  const outDir = join(o.out, name);
  const sources = graph.artifacts(results).filter((a) => a.kind === 'install-iso');
  const stages = Object.fromEntries([...results.values()].map((r) => [r.stage.name, r.key]).sort(([a], [b]) => (a < b ? -1 : 1)));
  if (!outputIsCurrent(outDir, sources, stages)) {
    await publish(outDir, sources, {
      recipe: recipe.name,
      product: { brand: recipe.product.brand, version: mediaProductVersion(recipe), build: recipe.product.build_number, platform: `${recipe.product.platform.name} ${recipe.product.platform.version}` },
      sourceDateEpoch: epochFor(recipe),
      stages,
      extra: { updates: rollup.plan.media.updates, debianPackages: graph.resolved },
    });
  }
  return { iso: join(outDir, sources[0].path), recipeFile: provisional, productVersion: mediaProductVersion(recipe), durationMs: Date.now() - started };
}
