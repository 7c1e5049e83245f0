// xsforge update build|validate: update ISOs (supplemental packs, driver disks,
// hotfixes, cumulative updates) from a YAML spec, SPEC section 6. A bad spec
// fails with file:line:col messages before anything is written.
import type { Command } from '@commander-js/extra-typings';
import { XsforgeError } from '../../core/errors.ts';
import { buildUpdate } from '../../updates/build.ts';
import { loadUpdateSpec, validateUpdateSpec, type UpdateSpecOverrides } from '../../updates/load.ts';
import { formatIssue } from '../../recipes/load.ts';

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
}
