// The tree digest of a `directory` hypervisor source: walkTree's entries
// without .git, so a checkout's git state does not move the key but any source
// change does; and the copy the build compiles digests the same.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashJson, walkTree } from '../../core/hash.ts';
import { copySourceTree, sourceTreeDigest } from '../../hypervisor/tree.ts';

const root = mkdtempSync(join(tmpdir(), 'xsf-xentree-'));
const tree = join(root, 'xen-src');

test.before(() => {
  mkdirSync(join(tree, 'xen', 'common'), { recursive: true });
  writeFileSync(join(tree, 'xen', 'Makefile'), 'export XEN_VERSION = 4\n');
  writeFileSync(join(tree, 'xen', 'common', 'kernel.c'), 'int x;\n');
  symlinkSync('../xen/Makefile', join(tree, 'xen', 'common', 'Makefile.link'));
});
test.after(() => rmSync(root, { recursive: true, force: true }));

test('without .git the digest is hashJson of core walkTree (same entry format)', async () => {
  assert.is(await sourceTreeDigest(tree), hashJson(await walkTree(tree)));
});

test('.git (top-level directory or a submodule\'s .git file) does not change the digest', async () => {
  const before = await sourceTreeDigest(tree);
  mkdirSync(join(tree, '.git', 'objects'), { recursive: true });
  writeFileSync(join(tree, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(tree, 'xen', 'common', '.git'), 'gitdir: ../../.git/modules/x\n');
  assert.is(await sourceTreeDigest(tree), before);
  writeFileSync(join(tree, '.git', 'HEAD'), 'ref: refs/heads/other\n');
  assert.is(await sourceTreeDigest(tree), before);
  assert.is.not(hashJson(await walkTree(tree)), before, 'walkTree itself would have counted .git');
});

test('content, a new file, a mode and a symlink target each change the digest; undoing restores it', async () => {
  const base = await sourceTreeDigest(tree);
  const seen = new Set([base]);
  const differs = async (what: string) => {
    const d = await sourceTreeDigest(tree);
    assert.ok(!seen.has(d), what);
    seen.add(d);
  };
  writeFileSync(join(tree, 'xen', 'common', 'kernel.c'), 'int y;\n');
  await differs('content');
  writeFileSync(join(tree, 'xen', 'common', 'kernel.c'), 'int x;\n');
  assert.is(await sourceTreeDigest(tree), base, 'same content again: same digest (mtimes do not count)');
  writeFileSync(join(tree, 'xen', 'new.c'), '');
  await differs('new file');
  rmSync(join(tree, 'xen', 'new.c'));
  chmodSync(join(tree, 'xen', 'Makefile'), 0o755);
  await differs('mode');
  chmodSync(join(tree, 'xen', 'Makefile'), 0o644);
  rmSync(join(tree, 'xen', 'common', 'Makefile.link'));
  symlinkSync('../xen/other', join(tree, 'xen', 'common', 'Makefile.link'));
  await differs('symlink target');
  rmSync(join(tree, 'xen', 'common', 'Makefile.link'));
  symlinkSync('../xen/Makefile', join(tree, 'xen', 'common', 'Makefile.link'));
  assert.is(await sourceTreeDigest(tree), base);
});

test('the copy the build compiles has no .git, keeps relative symlinks and modes, and digests the same', async () => {
  chmodSync(join(tree, 'xen', 'common', 'kernel.c'), 0o600);
  const dest = join(root, 'copy');
  await copySourceTree(tree, dest);
  assert.not.ok(existsSync(join(dest, '.git')));
  assert.not.ok(existsSync(join(dest, 'xen', 'common', '.git')));
  assert.is(readlinkSync(join(dest, 'xen', 'common', 'Makefile.link')), '../xen/Makefile');
  assert.is(await sourceTreeDigest(dest), await sourceTreeDigest(tree));
  chmodSync(join(tree, 'xen', 'common', 'kernel.c'), 0o644);
});

test.run();
