// Wires the RPM dom0 example: test-repo.yaml → the stages of the test
// repository (dom0-rootfs/rpm-test-repo.ts) and the RPM dom0 provider
// (dom0-rootfs/rpm-provider.ts) installing from it. Used by build-repo.ts and
// tests/integration/rpm-dom0.test.ts; the lead's pipeline can call it the same way.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { XsforgeError } from '../../core/errors.ts';
import type { Stage } from '../../core/stage.ts';
import { AptRoot, type DebianSource } from '../../debian/apt.ts';
import { debianKernelStage } from '../../debian/kernel.ts';
import { xenReleaseFromPackageVersion } from '../../dom0-rootfs/identity.ts';
import { rpmDom0RootfsStage, type RpmRepositorySpec } from '../../dom0-rootfs/rpm-provider.ts';
import { busyboxStaticStage, rpmTestRepo, type RpmTestRepo } from '../../dom0-rootfs/rpm-test-repo.ts';
import { prebuiltXenStage } from '../../hypervisor/prebuilt.ts';
import { rpmVersionFromDebian } from '../../packages/model.ts';
import type { SigningOptions } from '../../repo/stage.ts';

/** The default recipe's epoch, so cache entries are shared with tests and `xsforge build`. */
export const EXAMPLE_EPOCH = 1_533_081_600;

export const TEST_REPO_FILE = join(dirname(fileURLToPath(import.meta.url)), 'test-repo.yaml');

export interface TestRepoDescription {
  debian: DebianSource;
  product: { brand: string; version: string; build_number: string; platform: { name: string; version: string } };
  busybox: string;
  kernel: string;
  hypervisor: string;
  groups: string[];
  releasever: string;
  initrd_modules?: string[];
}

export function loadTestRepoDescription(file = TEST_REPO_FILE): TestRepoDescription {
  const d = parse(readFileSync(file, 'utf8')) as Partial<TestRepoDescription>;
  const missing = (['debian', 'product', 'busybox', 'kernel', 'hypervisor', 'groups', 'releasever'] as const).filter((k) => d?.[k] === undefined);
  if (missing.length) throw new XsforgeError(`${file}: missing ${missing.join(', ')}`);
  return { ...d, releasever: String(d.releasever) } as TestRepoDescription;
}

export interface RpmDom0Example {
  test: RpmTestRepo;
  /** the provider stage installing the description's groups from the test repository */
  dom0: Stage<any>;
  kernelRelease: string;
  resolved: Record<string, string>;
}

/**
 * Resolve the Debian packages and make the stages. `extraRepositories` are
 * installed from as well (e.g. a damaged copy, in tests); `packages` are
 * installed besides the groups.
 */
export async function planRpmDom0Example(o: {
  downloadsRoot: string; description?: TestRepoDescription; signing?: SigningOptions; keyName?: string;
  packages?: string[]; extraRepositories?: RpmRepositorySpec[]; zstdLevel?: number;
}): Promise<RpmDom0Example> {
  const d = o.description ?? loadTestRepoDescription();
  const apt = new AptRoot(d.debian, o.downloadsRoot);
  await apt.ensureIndex();
  const kernelPkg = await apt.resolveMeta(d.kernel, /^linux-image-\d/);
  const [xenPkg, busyboxPkg] = await apt.resolve([d.hypervisor, d.busybox]);
  const kernelRelease = kernelPkg.name.replace(/^linux-image-/, '');
  const test = await rpmTestRepo({
    product: d.product,
    kernel: { stage: debianKernelStage(apt, kernelPkg), release: kernelRelease, rpmVersion: rpmVersionFromDebian(kernelPkg.version).version },
    hypervisor: { stage: prebuiltXenStage(apt, xenPkg!), version: xenReleaseFromPackageVersion(xenPkg!.version) },
    busybox: busyboxStaticStage(apt, busyboxPkg!),
    initrdModules: d.initrd_modules,
    ...(o.signing ? { signing: o.signing, keyName: o.keyName } : {}),
  });
  const dom0 = await rpmDom0RootfsStage({
    // a signed repository carries its public key: dnf checks packages and repomd.xml with it
    repositories: [{ name: 'product', stage: test.repo, ...(o.signing ? { gpgkeys: [`RPM-GPG-KEY-${test.keyName}`] } : {}) }, ...(o.extraRepositories ?? [])],
    groups: d.groups,
    packages: o.packages ?? [],
    releasever: d.releasever,
    zstdLevel: o.zstdLevel,
  });
  return {
    test, dom0, kernelRelease,
    resolved: { [kernelPkg.name]: kernelPkg.version, [xenPkg!.name]: xenPkg!.version, [busyboxPkg!.name]: busyboxPkg!.version },
  };
}
