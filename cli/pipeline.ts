// Turns a recipe into the build graph for the install ISO, and names what gets
// published to output/<name>/. The one place that wires stage families together.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRpm } from '../packages/rpm-header.ts';
import { downloadsRootFor } from '../core/cache.ts';
import type { ArtifactSource } from '../core/output.ts';
import type { StageResult } from '../core/engine.ts';
import type { Stage } from '../core/stage.ts';
import { AptRoot } from '../debian/apt.ts';
import { debianKernelStage } from '../debian/kernel.ts';
import { dom0RootfsStage } from '../dom0-rootfs/rootfs.ts';
import { rpmDom0RootfsStage } from '../dom0-rootfs/rpm-provider.ts';
import { hypervisorOrigin, hypervisorStage } from '../hypervisor/schema.ts';
import { installImgStage } from '../installer/install-img.ts';
import { BOOTLOADER_PACKAGES, FACTORY_ANSWERFILE, bootFilesStage, efiImageStage, isoStage, menusStage } from '../media/stages.ts';
import { defaultEntries } from '../media/menu.ts';
import { bootTreeinfoSection, formatTreeinfo } from '../media/treeinfo.ts';
import type { LoadedRecipe } from '../recipes/load.ts';
import { xenReleaseFromPackageVersion } from '../dom0-rootfs/identity.ts';
import { isStageFileRef, rpmVersionFromDebian, type RpmPackageDef } from '../packages/model.ts';
import { brandSlug, productRpmSpecs, rpmReleaseFromBuild } from '../packages/product.ts';
import { rpmPackagesStage } from '../packages/rpmbuild.ts';
import { packageFromRecipe } from '../packages/schema.ts';
import { productGroups } from '../repo/comps.ts';
import { publicKeyStage } from '../repo/public-key.ts';
import { yumRepoStage, type SigningOptions } from '../repo/stage.ts';
import { XsforgeError } from '../core/errors.ts';
import { BUSYBOX_PACKAGE, testGuestStage, type TestGuestOptions } from '../guest/test-guest.ts';

export interface BuildGraph {
  targets: Stage<any>[];
  /** artifacts to publish, once the graph has run */
  artifacts(results: Map<string, StageResult>): ArtifactSource[];
  resolved: Record<string, string>;
}

/** The product version the media identifies as: updates built into it may bring it past product.version. */
export function mediaProductVersion(r: LoadedRecipe): string {
  return r.updates?.product_version ?? r.product.version;
}

/**
 * The media's .treeinfo. `hostBoot: false` leaves [xsforge-boot] out: the
 * release package's copy names the release only, so a boot value does not
 * rebuild the product RPMs.
 */
export function treeinfoText(r: LoadedRecipe, keys: string[] = [], o: { hostBoot?: boolean } = {}): string {
  return formatTreeinfo([
    { name: 'platform', entries: [['name', r.product.platform.name], ['version', r.product.platform.version]] },
    { name: 'branding', entries: [['name', r.product.brand], ['version', mediaProductVersion(r)]] },
    { name: 'build', entries: [['number', r.product.build_number]] },
    // what the installed host boots with: the installer and the upgrade path read it (media/treeinfo.ts)
    ...(o.hostBoot === false ? [] : [bootTreeinfoSection(r.boot)]),
    ...(keys.length ? [{ name: 'keys', entries: keys.map((k, i): [string, string] => [`key${i + 1}`, k]) }] : []),
  ]);
}

export function isoFileName(r: LoadedRecipe): string {
  return `${r.name}.iso`;
}

/**
 * The dom0 base comes from Debian packages, which rpm does not see: this empty
 * package tells rpm what that base provides (the shell scriptlets run with), so
 * the product RPMs install with their dependencies checked rather than --nodeps.
 */
export function debianBasePackage(r: LoadedRecipe): RpmPackageDef {
  return {
    name: 'dom0-base-debian',
    version: r.product.version,
    release: rpmReleaseFromBuild(r.product.build_number),
    summary: `The Debian ${r.debian.suite} base system of the control domain`,
    license: 'MIT',
    arch: 'noarch',
    description: `Stands for the Debian ${r.debian.suite} packages the dom0 root image is made of (dpkg owns them): it provides to rpm what they provide, so product packages can depend on it.`,
    provides: ['/bin/sh', '/bin/bash', '/usr/bin/systemctl', `debian-suite = ${r.debian.suite}`],
    requires: [], conflicts: [], obsoletes: [], dirs: [], scriptlets: {},
    // Debian's rpm defaults to ~/.rpmdb; the host's rpm must read the database the installer wrote
    files: [{ from: { text: '%_dbpath /var/lib/rpm\n' }, to: '/etc/rpm/macros.dbpath', mode: 0o644, config: true }],
  };
}

/**
 * Factory media (OEM installs from a USB stick): the recipe with a default
 * `autoinstall` entry that installs unattended from the answer file on the
 * medium itself, a short timeout, and the interactive entries still there.
 */
export function factoryRecipe(r: LoadedRecipe): LoadedRecipe {
  const entries = r.boot.entries ?? defaultEntries(r.product.brand);
  return {
    ...r,
    name: `${r.name}-factory`,
    boot: {
      ...r.boot,
      timeout: Math.min(r.boot.timeout, 30),
      default: 'autoinstall',
      entries: [
        { label: 'autoinstall', title: `Install ${r.product.brand} unattended (factory answer file)`, xen_args: [], dom0_args: ['install', `answerfile=file:///${FACTORY_ANSWERFILE}`] },
        ...entries.filter((e) => e.label !== 'autoinstall'),
      ],
    },
  };
}

/**
 * The packages of the update trees a recipe includes (updates.include), in
 * order, with their names: they join the repository and the dom0 group.
 */
export function includedUpdatePackages(r: LoadedRecipe): { file: string; name: string }[] {
  const out: { file: string; name: string }[] = [];
  for (const dir of r.updates?.include ?? []) {
    const pkgDir = join(dir, 'Packages');
    if (!existsSync(pkgDir)) throw new XsforgeError(`${dir} is not an update tree: it has no Packages/`, 'updates.include lists the trees `xsforge update build` writes beside DIR/<name-label>.iso');
    for (const n of readdirSync(pkgDir).filter((x) => x.endsWith('.rpm') && !x.endsWith('.src.rpm')).sort()) {
      const file = join(pkgDir, n);
      out.push({ file, name: parseRpm(readFileSync(file)).name });
    }
  }
  return out;
}

export interface PlanOptions {
  cacheRoot: string;
  refreshIndex?: boolean;
  /** gpg key that signs RPMs and repodata (overrides recipe repository.sign_key) */
  signKey?: string;
  /** factory media: the answer file carried on the ISO (use with factoryRecipe) */
  answerFile?: string;
}

export async function planIsoBuild(r: LoadedRecipe, opts: PlanOptions): Promise<BuildGraph> {
  const apt = new AptRoot(r.debian, downloadsRootFor(opts.cacheRoot));
  await apt.ensureIndex(opts.refreshIndex);
  const kernelPkg = await apt.resolveMeta(r.kernel.package, /^linux-image-\d/);
  const bootPkgs = await apt.resolve(BOOTLOADER_PACKAGES);

  const hypervisor = await hypervisorStage(r.hypervisor, { apt, baseDir: r.$dir, refreshIndex: opts.refreshIndex });
  // where the hypervisor comes from (package, source package, tarball or tree) and its version
  const xenFrom = await hypervisorOrigin(r.hypervisor, { apt, baseDir: r.$dir });
  const compiledXen = xenFrom.compiled;
  const kernel = debianKernelStage(apt, kernelPkg);
  const bootFiles = bootFilesStage(apt, bootPkgs);
  const id = { brand: r.product.brand, version: r.product.version, build: r.product.build_number };
  const menus = menusStage({ boot: r.boot, product: r.product }, id);
  const efi = efiImageStage(bootFiles, menus, `${r.name}:${r.product.volume_id}`);
  const installImg = installImgStage({
    kernel,
    debian: r.debian,
    indexDigest: apt.indexDigest(),
    packages: r.installer.packages,
    moduleDirs: r.installer.modules ?? [],
    compression: r.installer.compression,
    product: { brand: r.product.brand, platform: r.product.platform },
    ...(r.product.eula && { eulaFile: r.product.eula }),
  });
  const product = { brand: r.product.brand, version: r.product.version, build_number: r.product.build_number, platform: r.product.platform };
  const rpmDom0 = r.dom0?.provider === 'rpm';
  const debianDom0 = rpmDom0 ? undefined
    : dom0RootfsStage({ debian: r.debian, indexDigest: apt.indexDigest(), packages: r.dom0?.packages ?? [], product });

  // the product RPMs and their repository
  const keyName = r.repository?.key_name ?? brandSlug(r.product.brand);
  const signKey = opts.signKey ?? r.repository?.sign_key;
  const signing: SigningOptions | undefined = signKey ? { key: signKey } : undefined;
  const keyStage = signing ? await publicKeyStage(signing, keyName) : undefined;
  const keyFiles = signing ? [`RPM-GPG-KEY-${keyName}`] : [];
  const treeinfo = treeinfoText(r, keyFiles);
  const kernelVersion = rpmVersionFromDebian(kernelPkg.version);
  const mediaVersion = mediaProductVersion(r);
  const productRpms = productRpmSpecs({
    brand: r.product.brand,
    productVersion: mediaVersion,
    platform: r.product.platform,
    buildNumber: r.product.build_number,
    hypervisor: {
      version: xenReleaseFromPackageVersion(xenFrom.version),
      xenGz: { stage: 'hypervisor', path: 'xen.gz' },
      ...(compiledXen ? { xenEfi: { stage: 'hypervisor', path: 'xen.efi' } } : {}),
    },
    kernel: { release: kernelPkg.name.replace(/^linux-image-/, ''), version: kernelVersion.version, vmlinuz: { stage: 'kernel', path: 'vmlinuz' } },
    treeinfo: treeinfoText(r, keyFiles, { hostBoot: false }),
    ...(keyStage ? { gpgKey: { name: keyName, file: { stage: 'signing-key', path: keyFiles[0]! } } } : {}),
  });
  if (mediaVersion !== r.product.version) {
    // a host from this media is a product.version host with the included updates
    // applied: what those updates require (product-version = product.version) stays provided
    const release = productRpms.find((p) => p.name === `${brandSlug(r.product.brand)}-release`)!;
    release.provides = [...release.provides, `product-version = ${r.product.version}`];
  }
  const updatePkgs = includedUpdatePackages(r);
  const extraRpms = (r.rpms ?? []).map((p) => packageFromRecipe(p, r.$dir));
  const rpmDefs: RpmPackageDef[] = [...productRpms, ...(rpmDom0 ? [] : [debianBasePackage(r)]), ...extraRpms];
  const available: Record<string, Stage<any>> = {
    hypervisor, kernel, 'boot-files': bootFiles, menus, 'efi-image': efi, 'install-img': installImg,
    ...(debianDom0 ? { 'dom0-rootfs': debianDom0 } : {}),
    ...(keyStage ? { 'signing-key': keyStage } : {}),
  };
  const rpmDeps: Record<string, Stage<any>> = {};
  for (const def of rpmDefs) {
    for (const f of def.files) {
      if (!isStageFileRef(f.from)) continue;
      const stage = available[f.from.stage];
      if (!stage) throw new XsforgeError(`package ${def.name}: ${f.to} comes from stage "${f.from.stage}", which this build does not have`, `stages: ${Object.keys(available).join(', ')}`);
      rpmDeps[f.from.stage] = stage;
    }
  }
  const rpms = rpmPackagesStage({ name: 'rpms', packages: rpmDefs, deps: rpmDeps });
  // base: what identifies and boots the host; dom0: the rest, recipe packages included
  const dom0Group = new Set(['xsforge-firstboot', 'xsforge-update', 'xsforge-xen-cmdline', ...extraRpms.map((p) => p.name), ...updatePkgs.map((p) => p.name)]);
  const repo = await yumRepoStage({
    // the yum-repo stage keeps the newest build of each name (an update may replace a product package)
    rpms: { stages: { rpms }, ...(updatePkgs.length ? { files: updatePkgs.map((p) => p.file) } : {}) },
    comps: productGroups(rpmDefs.filter((p) => !dom0Group.has(p.name)).map((p) => p.name), [...dom0Group]),
    ...(signing ? { signing, keyName } : {}),
  });

  // an RPM dom0 is installed with dnf from the recipe's repositories, this build's own among them
  const dom0 = debianDom0 ?? await rpmDom0RootfsStage({
    repositories: (r.dom0!.repositories ?? []).map((x) => ({
      name: x.name,
      ...(x.build ? { stage: repo } : x.url ? { url: x.url } : { path: x.path! }),
      ...(x.gpgkey ? { gpgkeys: x.gpgkey } : x.build && signing ? { gpgkeys: keyFiles } : {}),
      ...(x.repo_gpgcheck !== undefined ? { repoGpgcheck: x.repo_gpgcheck } : {}),
    })),
    groups: r.dom0!.groups ?? [],
    packages: r.dom0!.packages ?? [],
    releasever: r.dom0!.releasever ?? '1',
    ...(r.dom0!.nodocs !== undefined ? { nodocs: r.dom0!.nodocs } : {}),
  });

  const isoName = isoFileName(r);
  const iso = isoStage({ hypervisor, kernel, bootFiles, menus, efi, installImg, dom0, repo },
    { volumeId: r.product.volume_id, treeinfo, eulaFile: r.product.eula, isoName, ...(opts.answerFile ? { answerFile: opts.answerFile } : {}) });

  const fileOf = (results: Map<string, StageResult>, stage: string, path: string, kind: string, dest: string): ArtifactSource => {
    const res = results.get(stage)!;
    const entry = res.manifest.files.find((f) => f.path === path);
    return { kind, path: dest, from: join(res.dir, path), sha256: entry?.sha256, size: entry?.size };
  };
  return {
    targets: [iso],
    resolved: {
      [xenFrom.name]: xenFrom.version, [kernelPkg.name]: kernelPkg.version,
      ...Object.fromEntries(bootPkgs.map((p) => [p.name, p.version])),
    },
    artifacts: (results) => [
      fileOf(results, 'iso', isoName, 'install-iso', isoName),
      fileOf(results, 'hypervisor', 'xen.gz', 'hypervisor', 'boot/xen.gz'),
      fileOf(results, 'kernel', 'vmlinuz', 'kernel', 'boot/vmlinuz'),
      fileOf(results, 'install-img', 'install.img', 'installer-initrd', 'install.img'),
      fileOf(results, 'dom0-rootfs', 'dom0-root.tar.zst', 'dom0-root-image', 'dom0/root.tar.zst'),
      fileOf(results, 'dom0-rootfs', 'dom0-root.json', 'dom0-root-manifest', 'dom0/root.json'),
      fileOf(results, 'efi-image', 'efiboot.img', 'efi-boot-image', 'boot/efiboot.img'),
      fileOf(results, 'efi-image', 'grubx64.efi', 'efi-loader', 'EFI/xenserver/grubx64.efi'),
      fileOf(results, 'menus', 'isolinux.cfg', 'boot-menu', 'boot/isolinux/isolinux.cfg'),
      fileOf(results, 'menus', 'grub.cfg', 'boot-menu', 'EFI/xenserver/grub.cfg'),
      // the repository as on the media: Packages/, repodata/, RPM-GPG-KEY-*
      ...results.get('yum-repo')!.manifest.files.filter((f) => f.type === 'file').map((f) => fileOf(results, 'yum-repo', f.path,
        f.path.endsWith('.rpm') ? 'rpm' : f.path.startsWith('RPM-GPG-KEY-') ? 'gpg-public-key' : 'yum-repo-metadata', f.path)),
    ],
  };
}

export interface TestGuestPlan {
  target: Stage<TestGuestOptions>;
  /** Debian packages the guest is made of, name to version */
  resolved: Record<string, string>;
}

/**
 * The test guest on its own, outside the ISO graph: the recipe's kernel stage
 * (built as planIsoBuild builds it, so both share one cache entry) and busybox.
 */
export async function planTestGuest(r: LoadedRecipe, opts: Pick<PlanOptions, 'cacheRoot' | 'refreshIndex'>): Promise<TestGuestPlan> {
  const apt = new AptRoot(r.debian, downloadsRootFor(opts.cacheRoot));
  await apt.ensureIndex(opts.refreshIndex);
  const kernelPkg = await apt.resolveMeta(r.kernel.package, /^linux-image-\d/);
  const [busybox] = await apt.resolve([BUSYBOX_PACKAGE]);
  const kernel = debianKernelStage(apt, kernelPkg);
  return {
    target: testGuestStage({ kernel, apt, busybox: busybox! }),
    resolved: { [kernelPkg.name]: kernelPkg.version, [busybox!.name]: busybox!.version },
  };
}
