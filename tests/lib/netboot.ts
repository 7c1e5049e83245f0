// Network-boot test inputs from the default build (cached after the first run):
// the published kernel files, the ISO's content (the HTTP repository, the
// pxelinux files) and a network GRUB image built from the boot-files stage.
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RECIPE } from '../../cli/shared.ts';
import { defaultCacheRoot, StageCache } from '../../core/cache.ts';
import { run } from '../../core/exec.ts';
import { buildMenu, type BootMenu } from '../../media/menu.ts';
import type { MenuIdentity } from '../../media/render.ts';
import { buildGrubNetImage } from '../../netboot/grub-image.ts';
import type { NetbootSources } from '../../netboot/tree.ts';
import { loadRecipe, type LoadedRecipe } from '../../recipes/load.ts';
import { buildRecipe } from './build.ts';

export interface NetbootInputs {
  recipe: LoadedRecipe;
  menu: BootMenu;
  id: MenuIdentity;
  sources: NetbootSources;
  /** the ISO extracted: .treeinfo, repodata/, Packages/, dom0/, ... */
  isoTree: string;
}

/** Builds the default recipe into `work` and gathers everything writeNetbootTree needs. */
export async function netbootInputs(work: string): Promise<NetbootInputs> {
  const built = await buildRecipe(DEFAULT_RECIPE, { output: join(work, 'out') });
  const bootFilesKey = built.events.find((e) => (e.type === 'stage-cached' || e.type === 'stage-finish') && e.stage === 'boot-files')?.key;
  if (!bootFilesKey) throw new Error('the build reported no boot-files stage');
  const bootFiles = join(new StageCache(defaultCacheRoot()).entryDir(bootFilesKey), 'out');
  const isoTree = join(work, 'iso');
  await run(['xorriso', '-osirrox', 'on', '-indev', built.iso, '-extract', '/', isoTree]);
  // xorriso keeps the ISO's read-only modes; the test's cleanup must be able to remove the tree
  makeWritable(isoTree);
  mkdirSync(join(work, 'grub'), { recursive: true });
  const grubNetImage = await buildGrubNetImage(join(bootFiles, 'grub-x86_64-efi'), join(work, 'grub', 'grubx64.efi'));
  chmodSync(grubNetImage, 0o644);
  const recipe = loadRecipe(DEFAULT_RECIPE);
  return {
    recipe,
    menu: buildMenu(recipe),
    id: { brand: recipe.product.brand, version: recipe.product.version, build: recipe.product.build_number },
    isoTree,
    sources: {
      xenGz: join(built.outDir, 'boot', 'xen.gz'),
      vmlinuz: join(built.outDir, 'boot', 'vmlinuz'),
      installImg: join(built.outDir, 'install.img'),
      syslinuxDir: join(bootFiles, 'syslinux'),
      grubNetImage,
    },
  };
}

function makeWritable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) makeWritable(p);
    else if (st.isFile()) chmodSync(p, 0o644);
  }
}
