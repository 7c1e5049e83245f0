// Update media for the e2e install tests, signed with a throwaway key: the
// example supplemental pack, a driver disk that repackages a real module of the
// dom0 kernel (dummy.ko, taken from the install ISO's dom0 root, so the
// installer can load it), a hotfix that needs only what such a host has (the
// pack), and the example hotfix XS71ECU2001, whose prerequisite (CU2) no fresh
// 7.1.2 host has. The hotfix ISOs are wrapped in one more ISO, attached to the
// booted host as a disk.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../core/exec.ts';
import { REPO_ROOT } from '../../cli/shared.ts';
import { buildUpdate, type BuiltUpdate } from '../../updates/build.ts';
import { loadUpdateSpec } from '../../updates/load.ts';

export interface E2eUpdates {
  pack: BuiltUpdate;
  driver: BuiltUpdate;
  /** applies on a fresh host with the pack */
  hotfix: BuiltUpdate;
  /** requires XS71ECU2: refused with PREREQUISITE_MISSING */
  needsCu2: BuiltUpdate;
  /** an ISO holding hotfix.iso and needsCu2.iso at its root */
  hotfixDisk: string;
  /** the dom0 kernel release the driver disk is for */
  kernelRelease: string;
  /** the module file name in the driver package (dummy.ko, or dummy.ko.xz on kernels that compress) */
  moduleFile: string;
  gnupg: string;
  /** the throwaway signing key's fingerprint (in gnupg) */
  fingerprint: string;
}

const HOTFIX = `# e2e: updates the pack's agent; needs only the pack (and product-version 7.1.2)
kind: hotfix
name_label: XSFE2E001
version: "1.0"
description: Updates the SNMP agent of the xsforge-snmp-agent pack (e2e hotfix)
after_apply_guidance: [restartXAPI]
key: XS-7
requires: [xsforge-snmp-agent]
rpms:
  packages:
    - name: xsforge-snmp-agent
      version: "1.0.3"
      release: "2"
      summary: Example SNMP agent for dom0
      license: MIT
      arch: noarch
      description: |
        Answers SNMP queries about the host (hotfixed).
      files:
        - from:
            text: |
              # xsforge-snmp-agent configuration
              community=public
              listen=udp:161
          to: /etc/xsforge-snmp-agent/agent.conf
          config: true
        - from:
            text: |
              #!/bin/sh
              echo "xsforge-snmp-agent 1.0.3-2 (XSFE2E001)"
          to: /usr/bin/xsforge-snmp-agent
          mode: "0755"
      dirs: [/etc/xsforge-snmp-agent]
`;

function driverSpec(release: string, moduleFile: string): string {
  return `# e2e: the dom0 kernel's own dummy network module, repackaged as a driver disk
kind: driver-disk
name_label: xsf-e2e-dummy-driver
version: "1.0"
description: The dummy network module of the dom0 kernel as a driver disk (e2e)
after_apply_guidance: [restartHost]
key: XS-7
kernel_release: ${release}
rpms:
  packages:
    - name: xsf-e2e-dummy-driver
      version: "1.0"
      release: "1"
      summary: dummy network module for ${release}
      license: GPLv2
      arch: x86_64
      description: |
        drivers/net/dummy of the dom0 kernel ${release}, under updates/.
      files:
        - from: { repo: ${moduleFile} }
          to: /lib/modules/${release}/updates/${moduleFile}
      dirs: [/lib/modules/${release}/updates]
`;
}

/** The dom0 kernel release and its dummy module, from the install ISO's dom0 root. */
async function dummyModule(iso: string, dir: string): Promise<{ release: string; file: string }> {
  const unpack = join(dir, 'iso-dom0');
  mkdirSync(unpack, { recursive: true });
  await run(['xorriso', '-osirrox', 'on', '-indev', iso, '-extract', '/dom0/root.json', join(unpack, 'root.json'), '-extract', '/dom0/root.tar.zst', join(unpack, 'root.tar.zst')]);
  const release = String(JSON.parse(readFileSync(join(unpack, 'root.json'), 'utf8')).kernelRelease);
  const out = join(unpack, 'root');
  mkdirSync(out);
  await run(['tar', '--zstd', '-x', '-f', join(unpack, 'root.tar.zst'), '-C', out, '--wildcards', '--no-anchored', `modules/${release}/kernel/drivers/net/dummy.ko*`]);
  for (const base of ['usr/lib/modules', 'lib/modules']) {
    const netDir = join(out, base, release, 'kernel/drivers/net');
    try {
      const f = readdirSync(netDir).find((x) => x.startsWith('dummy.ko'));
      if (f) return { release, file: join(netDir, f) };
    } catch { /* the other layout */ }
  }
  throw new Error(`no dummy.ko for ${release} in ${iso}'s dom0 root`);
}

export async function buildE2eUpdates(iso: string, work: string): Promise<E2eUpdates> {
  const dir = join(work, 'updates');
  const gnupg = join(dir, 'gnupg');
  mkdirSync(gnupg, { recursive: true, mode: 0o700 });
  await run(['gpg', '--batch', '--passphrase', '', '--quick-gen-key', 'xsforge e2e updates <e2e@xsforge.invalid>', 'rsa2048', 'sign', 'never'], { env: { GNUPGHOME: gnupg } });
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec((await run(['gpg', '--batch', '--with-colons', '--list-secret-keys'], { env: { GNUPGHOME: gnupg } })).stdout)![1]!;
  const signing = { key: fpr, gnupgHome: gnupg };
  const log = () => {};

  const { release, file } = await dummyModule(iso, dir);
  const moduleFile = file.split('/').pop()!;
  const specs = join(dir, 'specs');
  mkdirSync(specs, { recursive: true });
  writeFileSync(join(specs, moduleFile), readFileSync(file));
  writeFileSync(join(specs, 'xsf-e2e-dummy-driver.yaml'), driverSpec(release, moduleFile));
  writeFileSync(join(specs, 'XSFE2E001.yaml'), HOTFIX);

  const media = join(dir, 'media');
  const hotfixes = join(dir, 'hotfixes');
  const pack = await buildUpdate(loadUpdateSpec(join(REPO_ROOT, 'examples/updates/xsforge-snmp-agent.yaml')), { out: media, signing, log });
  const driver = await buildUpdate(loadUpdateSpec(join(specs, 'xsf-e2e-dummy-driver.yaml')), { out: media, signing, log });
  const hotfix = await buildUpdate(loadUpdateSpec(join(specs, 'XSFE2E001.yaml')), { out: hotfixes, signing, log });
  const needsCu2 = await buildUpdate(loadUpdateSpec(join(REPO_ROOT, 'examples/updates/XS71ECU2001.yaml')), { out: hotfixes, signing, log });
  const disk = join(dir, 'hotfixes.iso');
  await run(['xorriso', '-as', 'mkisofs', '-quiet', '-r', '-V', 'XSFHOTFIXES', '-o', disk, '-graft-points',
    `/${hotfix.update.nameLabel}.iso=${hotfix.iso}`, `/${needsCu2.update.nameLabel}.iso=${needsCu2.iso}`]);
  await run(['gpgconf', '--kill', 'gpg-agent'], { env: { GNUPGHOME: gnupg } }).catch(() => undefined);
  return { pack, driver, hotfix, needsCu2, hotfixDisk: disk, kernelRelease: release, moduleFile, gnupg, fingerprint: fpr };
}
