// Finding a command on PATH, apart from core/tools.ts: the installer runtime
// (bundled into install.img, whose stage key covers every file it imports)
// needs this but not the host tool table, so editing that table does not
// rebuild install.img.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function findOnPath(command: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin']);
  for (const dir of dirs) {
    const p = join(dir, command);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * command -> Debian package, for "install it with apt-get install X" hints on a
 * missing tool. core/tools.ts registers the host tool table when it loads.
 */
const packageOfCommand = new Map<string, string>();

export function registerToolPackages(entries: Iterable<{ command: string; debianPackage: string }>): void {
  for (const e of entries) packageOfCommand.set(e.command, e.debianPackage);
}

export function debianPackageOf(command: string): string | undefined {
  return packageOfCommand.get(command);
}
