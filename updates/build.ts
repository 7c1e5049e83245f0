// Builds an update ISO from a loaded spec (SPEC section 6): the payload RPMs
// (ready files and packages built from models), update.xml, the control
// package, a yum repository with the `update` (and `drivers`) comps groups,
// signatures when a key is given, and the ISO mastered by xorriso. Everything
// is made in a scratch directory and renamed into place at the end, so a
// failed build leaves nothing behind that looks finished.
//
// Reproducible: rpmbuild, createrepo_c and gpg run with the pinned settings of
// packages/rpmbuild.ts, repo/stage.ts and repo/signer.ts, all dated
// spec.sourceDateEpoch; xorriso dates every volume and file field from it.
import { mkdir, mkdtemp, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, normalize, resolve } from 'node:path';
import { XsforgeError } from '../core/errors.ts';
import { run as execRun } from '../core/exec.ts';
import { sha256File, walkTree } from '../core/hash.ts';
import { requireTool, type ToolName } from '../core/tools.ts';
import { xorrisoTime } from '../media/stages.ts';
import { isInlineText, isStageFileRef, nevra, type RpmSpecInput } from '../packages/model.ts';
import { buildRpm } from '../packages/rpmbuild.ts';
import { parseRpm, formatDependency, type RpmDependency, type RpmInfo } from '../packages/rpm-header.ts';
import { renderComps } from '../repo/comps.ts';
import { openGpgSigner, type RunFn, type Signer } from '../repo/signer.ts';
import { assembleRepository } from '../repo/stage.ts';
import {
  controlPackage, controlPackageName, installationSize, isoVolumeId, shipsModules, updateGroups, type UpdateSpec,
} from './model.ts';
import { renderUpdateXml, type UpdateXml } from './update-xml.ts';

export interface UpdateSigningOptions {
  /** key id, fingerprint or user id in the keyring */
  key: string;
  /** keyring directory; default $GNUPGHOME, then ~/.gnupg */
  gnupgHome?: string;
  /** file with the key's passphrase; default gpg-agent */
  passphraseFile?: string;
}

export interface BuildUpdateOptions {
  /** DIR: receives DIR/<name-label>.iso and the ISO's tree DIR/<name-label>/ (both replaced) */
  out: string;
  /** absent: an unsigned update */
  signing?: UpdateSigningOptions;
  /** output directories of build stages, by the alias package files name in {stage, path} */
  stageDirs?: Record<string, string>;
  run?: RunFn;
  log?: (line: string) => void;
}

export interface BuiltPackage {
  name: string;
  nevra: string;
  /** path inside the ISO, e.g. Packages/foo-1.0-1.noarch.rpm */
  path: string;
  sha256: string;
  /** installed bytes (the header's SIZE) */
  installedSize: number;
  control: boolean;
  modules: boolean;
}

export interface BuiltUpdate {
  iso: string;
  /** the ISO's content, kept beside it */
  tree: string;
  isoSha256: string;
  isoBytes: number;
  volumeId: string;
  /** the update.xml text (also tree/update.xml and the control package's /var/update/applied/<uuid>) */
  updateXml: string;
  update: UpdateXml;
  installationSize: number;
  control: { name: string; nevra: string; path: string; provides: string[]; requires: string[]; conflicts: string[] };
  packages: BuiltPackage[];
  groups: { id: string; packages: string[] }[];
  signed: boolean;
  /** long id of the signing (sub)key */
  keyId?: string;
  fingerprint?: string;
  sourceDateEpoch: number;
  durationMs: number;
}

/** Files on the ISO besides the repository (SPEC section 6). */
export const UPDATE_XML = 'update.xml';
export const UPDATE_XML_ASC = 'update.xml.asc';

/** xorriso for an update ISO: the reproducible flags of media/stages.ts xorrisoArgs, without boot records. */
export function updateXorrisoArgs(tree: string, iso: string, volumeId: string, epoch: number): string[] {
  const t = xorrisoTime(epoch);
  return [
    'xorriso', '-as', 'mkisofs',
    '-o', iso,
    `--modification-date=${t}`, '--set_all_file_dates', t,
    '-r', '-J', '-joliet-long',
    '-V', volumeId,
    tree,
  ];
}

const userDeps = (ds: RpmDependency[]) => ds.filter((d) => !d.name.startsWith('rpmlib(')).map(formatDependency);

/** Resolves {stage, path} sources against the given stage directories; host paths and inline text stay. */
function resolveSources(pkg: UpdateSpec['packages'][number], stageDirs: Record<string, string>): RpmSpecInput {
  return {
    ...pkg,
    files: pkg.files.map((f) => {
      if (isInlineText(f.from) || typeof f.from === 'string') return { ...f, from: f.from };
      if (!isStageFileRef(f.from)) throw new XsforgeError(`package ${pkg.name}: ${f.to} has no usable source`);
      const dir = stageDirs[f.from.stage];
      if (!dir) {
        throw new XsforgeError(`package ${pkg.name}: ${f.to} comes from build stage "${f.from.stage}", which this build was not given`,
          `known stages: ${Object.keys(stageDirs).join(', ') || 'none'} (from code: buildUpdate(spec, { stageDirs: { ${f.from.stage}: DIR } }))`);
      }
      if (isAbsolute(f.from.path) || normalize(f.from.path).startsWith('..')) throw new XsforgeError(`package ${pkg.name}: ${f.to} names "${f.from.path}", which is not inside stage ${f.from.stage}'s output`);
      return { ...f, from: resolve(dir, f.from.path) };
    }),
  };
}

export async function buildUpdate(spec: UpdateSpec, opts: BuildUpdateOptions): Promise<BuiltUpdate> {
  const started = Date.now();
  const run = opts.run ?? execRun;
  const log = opts.log ?? (() => {});
  const epoch = spec.sourceDateEpoch;
  const tools: ToolName[] = ['rpmbuild', 'createrepo_c', 'xorriso', ...(opts.signing ? ['gpg', 'rpmsign'] as ToolName[] : [])];
  for (const t of tools) requireTool(t);
  if (opts.signing && !spec.key) {
    throw new XsforgeError(`update ${spec.nameLabel} is to be signed but its spec names no key`,
      'add `key: <name>` to the spec: update.xml says key="RPM-GPG-KEY-<name>" and the public key is written as /RPM-GPG-KEY-<name>');
  }
  // the key is looked up before any work: a missing key costs no build
  const signer: Signer | undefined = opts.signing ? await openGpgSigner({ ...opts.signing, sourceDateEpoch: epoch, run }) : undefined;

  const out = resolve(opts.out);
  await mkdir(out, { recursive: true });
  // rpmbuild wants a build path of plain characters: scratch under the system temp dir
  const work = await mkdtemp(join(tmpdir(), 'xsforge-update-'));
  // the result is staged beside its final place, so the last step is a rename
  const staging = await mkdtemp(join(out, `.${spec.nameLabel}.partial-`));
  try {
    const tree = join(staging, 'tree');
    await mkdir(tree);

    // ---- payload ----
    const built = await Promise.all(spec.packages.map(async (p) => (await buildRpm(resolveSources(p, opts.stageDirs ?? {}), {
      outDir: join(work, 'rpms'), workDir: join(work, 'rpmbuild'), sourceDateEpoch: epoch, run, log,
    })).file));
    const payloadFiles = [...built, ...spec.rpmFiles];
    const payload: { file: string; info: RpmInfo }[] = [];
    for (const file of payloadFiles) payload.push({ file, info: parseRpm(await readFile(file)) });
    const names = payload.map((p) => p.info.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new XsforgeError(`package ${dup} is in the payload twice`);

    // ---- update.xml and the control package that carries a copy of it ----
    const size = installationSize(payload.map((p) => p.info));
    const updateXmlModel: UpdateXml = {
      nameLabel: spec.nameLabel,
      uuid: spec.uuid,
      version: spec.version,
      ...(spec.key ? { key: `RPM-GPG-KEY-${spec.key}` } : {}),
      installationSize: size,
      afterApplyGuidance: spec.guidance,
      enforceHomogeneity: spec.enforceHomogeneity,
      control: controlPackageName(spec.nameLabel),
      description: spec.description,
      ...(spec.rolledUpBy ? { rolledUpBy: spec.rolledUpBy } : {}),
      livepatch: spec.livepatch,
      ...(spec.overwrites?.length ? { overwrites: spec.overwrites } : {}),
    };
    const updateXml = renderUpdateXml(updateXmlModel);
    const control = await buildRpm(controlPackage(spec, updateXml), { outDir: join(work, 'control'), workDir: join(work, 'rpmbuild'), sourceDateEpoch: epoch, run, log });
    const controlInfo = parseRpm(await readFile(control.file));

    // ---- repository ----
    const modulePkgs = payload.filter((p) => shipsModules(p.info.files.map((f) => f.path))).map((p) => p.info.name);
    const groups = updateGroups(spec, names, modulePkgs);
    const keyFile = spec.key ? `RPM-GPG-KEY-${spec.key}` : undefined;
    await assembleRepository({
      out: tree, work: join(work, 'repo'), rpms: [...payloadFiles, control.file], compsXml: renderComps(groups),
      signer, keyFile: signer ? keyFile : undefined, sourceDateEpoch: epoch, run, log,
      requiredPackages: groups.flatMap((g) => g.packages.map((p) => ({ group: g.id, name: p.name }))),
    });
    await writeFile(join(tree, UPDATE_XML), updateXml);
    if (signer) await signer.detachSign(join(tree, UPDATE_XML), join(tree, UPDATE_XML_ASC));
    for (const f of [UPDATE_XML, ...(signer ? [UPDATE_XML_ASC] : [])]) await utimes(join(tree, f), epoch, epoch);

    // ---- ISO ----
    const volumeId = isoVolumeId(spec.nameLabel);
    const isoName = `${spec.nameLabel}.iso`;
    const stagedIso = join(staging, isoName);
    await run(updateXorrisoArgs(tree, stagedIso, volumeId, epoch), { env: { TZ: 'UTC', SOURCE_DATE_EPOCH: String(epoch) } });

    const packages: BuiltPackage[] = [];
    for (const p of [...payload, { file: control.file, info: controlInfo }]) {
      const path = `Packages/${basename(p.file)}`;
      packages.push({
        name: p.info.name, nevra: nevra(p.info), path, sha256: await sha256File(join(tree, path)), installedSize: p.info.size,
        control: p.info.name === controlInfo.name, modules: modulePkgs.includes(p.info.name),
      });
    }
    packages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const isoSha256 = await sha256File(stagedIso);
    const isoBytes = (await stat(stagedIso)).size;

    // ---- into place ----
    const finalTree = join(out, spec.nameLabel);
    const finalIso = join(out, isoName);
    await rm(finalTree, { recursive: true, force: true });
    await rm(finalIso, { force: true });
    await rename(tree, finalTree);
    await rename(stagedIso, finalIso);
    log(`update ${spec.nameLabel}: ${finalIso} (${isoBytes} bytes, sha256 ${isoSha256}), ${packages.length} packages, installation-size ${size}`);
    return {
      iso: finalIso,
      tree: finalTree,
      isoSha256,
      isoBytes,
      volumeId,
      updateXml,
      update: updateXmlModel,
      installationSize: size,
      control: {
        name: controlInfo.name, nevra: nevra(controlInfo), path: `Packages/${basename(control.file)}`,
        provides: userDeps(controlInfo.provides), requires: userDeps(controlInfo.requires), conflicts: userDeps(controlInfo.conflicts),
      },
      packages,
      groups: groups.map((g) => ({ id: g.id, packages: g.packages.map((p) => p.name) })),
      signed: !!signer,
      ...(signer ? { keyId: signer.keyId, fingerprint: signer.fingerprint } : {}),
      sourceDateEpoch: epoch,
      durationMs: Date.now() - started,
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
}

/** Every file of a built tree (for tests and the CLI's summary), sorted. */
export async function treeFiles(tree: string): Promise<string[]> {
  return (await walkTree(tree, false)).filter((e) => e.type === 'file').map((e) => e.path);
}
