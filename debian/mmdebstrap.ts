// The mmdebstrap command line both root trees (install.img and dom0) are made
// with: merged /usr by mmdebstrap's own hooks (so usrmerge and perl stay out),
// and the .deb files kept between builds by syncing apt's archive directory in
// and out of a cache. Hooks are mmdebstrap's interface: each is one argv item.
import { existsSync } from 'node:fs';

export interface MmdebstrapArgs {
  mode: 'root' | 'unshare';
  variant: 'apt' | 'minbase';
  debian: { mirror: string; suite: string; components: string[] };
  packages: string[];
  /** directory with .deb files kept between builds */
  aptCacheDir: string;
  root: string;
  /** extra --essential-hook=/--customize-hook= items, in order */
  hooks?: string[];
}

const MERGED_USR_HOOKS = '/usr/share/mmdebstrap/hooks/merged-usr';

export function mmdebstrapArgv(a: MmdebstrapArgs): string[] {
  return [
    'mmdebstrap', `--mode=${a.mode}`, `--variant=${a.variant}`, '--format=directory',
    `--components=${a.debian.components.join(',')}`,
    ...(existsSync(MERGED_USR_HOOKS) ? [`--hook-dir=${MERGED_USR_HOOKS}`] : []),
    `--include=${[...new Set(a.packages)].sort().join(',')}`,
    '--skip=essential/unlink',
    '--setup-hook=mkdir -p "$1"/var/cache/apt/archives/',
    `--setup-hook=sync-in ${a.aptCacheDir} /var/cache/apt/archives/`,
    ...(a.hooks ?? []),
    `--customize-hook=sync-out /var/cache/apt/archives ${a.aptCacheDir}`,
    a.debian.suite, a.root, a.debian.mirror,
  ];
}
