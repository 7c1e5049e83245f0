// What dnf would install from one repository, without installing: the names of
// the packages `dnf install --downloadonly @group...` fetches into a fresh root.
import { mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../core/exec.ts';

export async function dnfResolve(work: string, repo: string, groups: string[]): Promise<string[]> {
  const root = mkdtempSync(join(work, 'dnfroot-'));
  const dl = join(root, 'dl');
  await run(['dnf', '-q', '-y', '--setopt=reposdir=/dev/null', `--repofrompath=media,${repo}`, `--installroot=${root}`,
    '--releasever=1', '--nogpgcheck', '--setopt=install_weak_deps=False', `--setopt=cachedir=${join(root, 'cache')}`,
    'install', '--downloadonly', `--downloaddir=${dl}`, ...groups.map((g) => `@${g}`)]);
  return readdirSync(dl).map((f) => f.replace(/-[^-]+-[^-]+\.(noarch|x86_64)\.rpm$/, '')).sort();
}
