// Text files that brand the dom0 root and the facts read back from it: pure
// functions (values in, text out), so the stage and the tests agree on them.

export interface Dom0Product {
  brand: string;
  version: string;
  build_number: string;
  platform: { name: string; version: string };
}

/** KEY='value' with the value quoted for POSIX sh (the installer and scripts may source it). */
export function shellAssignment(key: string, value: string): string {
  return `${key}='${value.replace(/'/g, `'\\''`)}'`;
}

/** /etc/xsforge-release: the product identity of this dom0, KEY='value' lines. */
export function releaseFile(p: Dom0Product): string {
  return [
    shellAssignment('PRODUCT_BRAND', p.brand),
    shellAssignment('PRODUCT_VERSION', p.version),
    shellAssignment('BUILD_NUMBER', p.build_number),
    shellAssignment('PLATFORM_NAME', p.platform.name),
    shellAssignment('PLATFORM_VERSION', p.platform.version),
  ].join('\n') + '\n';
}

/** agetty escapes start with a backslash; a product name must not smuggle one in. */
function issueSafe(s: string): string {
  return s.replace(/\\/g, '\\\\');
}

/** /etc/issue, shown above the `<hostname> login:` prompt (\r kernel release, \l tty). */
export function issueFile(p: Dom0Product): string {
  return `${issueSafe(p.brand)} ${issueSafe(p.version)} (build ${issueSafe(p.build_number)}) \\r \\l\n\n`;
}

/** /etc/issue.net (sshd shows nothing unless configured; telnet-style banners use it). */
export function issueNetFile(p: Dom0Product): string {
  return `${p.brand} ${p.version}\n`;
}

/**
 * The Xen release from the hypervisor package's Debian version:
 * "4.17.5+72-g01140da4e8-1" -> "4.17.5"; "1:4.17.3-1~deb12u1" -> "4.17.3".
 */
export function xenReleaseFromPackageVersion(debVersion: string): string {
  const noEpoch = debVersion.replace(/^\d+:/, '');
  const m = /^(\d+\.\d+(?:\.\d+)?)/.exec(noEpoch);
  if (!m) throw new Error(`cannot read a Xen release from package version "${debVersion}"`);
  return m[1];
}
