// xsforge doctor: which host tools the build needs, their versions, and (with
// --install) apt-get install of what is missing.
import type { Command } from '@commander-js/extra-typings';
import { existsSync } from 'node:fs';
import { run } from '../../core/exec.ts';
import { HOST_DATA_PACKAGES, HOST_TOOLS, findOnPath, installedPackageVersions } from '../../core/tools.ts';

export interface DoctorRow {
  what: string;
  debianPackage: string;
  purpose: string;
  found: boolean;
  path?: string;
  version?: string;
}

export function doctorRows(): DoctorRow[] {
  const versions = installedPackageVersions();
  const rows: DoctorRow[] = [];
  for (const t of Object.values(HOST_TOOLS)) {
    const path = findOnPath(t.command);
    rows.push({ what: t.command, debianPackage: t.debianPackage, purpose: t.purpose, found: !!path, path, version: path ? versions.get(t.debianPackage) : undefined });
  }
  for (const [pkg, d] of Object.entries(HOST_DATA_PACKAGES)) {
    const found = d.paths.every((p) => existsSync(p));
    rows.push({ what: d.paths[0], debianPackage: pkg, purpose: d.purpose, found, version: found ? versions.get(pkg) : undefined });
  }
  return rows;
}

export function register(program: Command): void {
  program.command('doctor')
    .description('List the host tools the build needs, with versions; --install installs missing ones with apt-get')
    .option('--install', 'apt-get install the Debian packages of missing tools')
    .option('--json', 'print the table as JSON')
    .action(async (o) => {
      let rows = doctorRows();
      const missing = [...new Set(rows.filter((r) => !r.found).map((r) => r.debianPackage))];
      if (o.install && missing.length) {
        process.stderr.write(`installing: ${missing.join(' ')}\n`);
        const env = { DEBIAN_FRONTEND: 'noninteractive' };
        await run(['apt-get', 'update', '-q'], { env, onOutput: (s) => process.stderr.write(s) });
        await run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...missing], { env, onOutput: (s) => process.stderr.write(s) });
        rows = doctorRows();
      }
      const stillMissing = rows.filter((r) => !r.found);
      if (o.json) process.stdout.write(`${JSON.stringify({ ok: stillMissing.length === 0, tools: rows }, null, 2)}\n`);
      else {
        const w = Math.max(...rows.map((r) => r.what.length));
        for (const r of rows) {
          const status = r.found ? `ok       ${r.debianPackage} ${r.version ?? ''}` : `MISSING  apt-get install ${r.debianPackage}`;
          process.stdout.write(`${r.what.padEnd(w)}  ${status.padEnd(52)}  ${r.purpose}\n`);
        }
        if (stillMissing.length) process.stdout.write(`\n${stillMissing.length} missing; run: xsforge doctor --install\n`);
      }
      if (stillMissing.length) process.exitCode = 1;
    });
}
