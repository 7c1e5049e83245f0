// A clean build (empty stage cache, its own output directory) gives the same
// bytes as the build in the default cache, which build.test.ts made (on a new
// machine, from empty as well): every artifact, ISO, install.img, RPMs, repodata
// and dom0 image included, and the factory disk image `xsforge disk-image` makes from each cache. Comparing against the default cache rather than a
// second clean build halves the cost (a clean build compiles Xen and makes two
// root trees), and also catches a stage whose cache key misses a code change.
// Downloads (.debs, package index) are shared: content-addressed and verified.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, openSync, readdirSync, readSync, closeSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RECIPE } from '../../cli/shared.ts';
import { defaultCacheRoot, downloadsRootFor, processAlive, removeTree } from '../../core/cache.ts';
import { buildRecipe, readManifest, xsforge } from '../lib/build.ts';

// The private cache holds chroot stages: a run killed mid-build leaves /proc,
// /sys and /dev mounted in it, which a plain rm -r would walk into. So the work
// directory carries the pid, and a later run unmounts and removes those of
// runs that are gone (removeTree unmounts first).
const PREFIX = 'xsf-repro-';
for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(PREFIX))) {
  const pid = Number(name.slice(PREFIX.length).split('-')[0]);
  if (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) await removeTree(join(tmpdir(), name)).catch(() => undefined);
}
const work = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
test.after(() => removeTree(work));

/** First offset where two files differ, or -1. */
function firstDifference(a: string, b: string): number {
  const fa = openSync(a, 'r');
  const fb = openSync(b, 'r');
  const ba = Buffer.alloc(1 << 20);
  const bb = Buffer.alloc(1 << 20);
  try {
    for (let off = 0; ; off += ba.length) {
      const na = readSync(fa, ba, 0, ba.length, off);
      const nb = readSync(fb, bb, 0, bb.length, off);
      const n = Math.min(na, nb);
      for (let i = 0; i < n; i++) if (ba[i] !== bb[i]) return off + i;
      if (na !== nb) return off + n;
      if (na === 0) return -1;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

test('a clean build in another directory gives the artifacts of the default cache, byte for byte', async () => {
  const env = { XSFORGE_DOWNLOADS: downloadsRootFor(defaultCacheRoot()), SOURCE_DATE_EPOCH: '1533081600' };
  const a = await buildRecipe(DEFAULT_RECIPE, { output: join(work, 'a-out'), env });
  const b = await buildRecipe(DEFAULT_RECIPE, { output: join(work, 'b-out'), cache: join(work, 'b-cache'), env });
  assert.ok(b.events.filter((e) => e.type === 'stage-finish').length >= 10, 'the clean build really ran every stage');
  const ma = readManifest(a.outDir);
  const mb = readManifest(b.outDir);
  const differing: string[] = [];
  for (const x of ma.artifacts) {
    const y = mb.artifacts.find((z: any) => z.path === x.path);
    assert.ok(y, `second build lacks ${x.path}`);
    if (x.sha256 !== y.sha256) {
      const off = firstDifference(join(a.outDir, x.path), join(b.outDir, y.path));
      differing.push(`${x.path}: first difference at byte ${off} (sizes ${statSync(join(a.outDir, x.path)).size} / ${statSync(join(b.outDir, y.path)).size})`);
    }
  }
  assert.equal(differing, [], `artifacts differ:\n${differing.join('\n')}`);
  assert.is(ma.artifacts[0].kind, 'install-iso');
  assert.is(ma.artifacts[0].sha256, mb.artifacts[0].sha256);
  const kinds = new Set(ma.artifacts.map((x: { kind: string }) => x.kind));
  for (const k of ['install-iso', 'installer-initrd', 'rpm', 'yum-repo-metadata', 'dom0-root-image', 'efi-boot-image']) assert.ok(kinds.has(k), `${k} is among the compared artifacts (${[...kinds].join(', ')})`);

  // the factory disk image from each cache: same bytes too
  const answer = join(work, 'factory.xml');
  writeFileSync(answer, FACTORY_ANSWER);
  const images: string[] = [];
  for (const [name, cache] of [['a', undefined], ['b', join(work, 'b-cache')]] as const) {
    const out = join(work, `${name}-disk.qcow2`);
    const r = await xsforge(['disk-image', '--answerfile', answer, '--format', 'qcow2', '--out', out, '-q', ...(cache ? ['--cache', cache] : [])], env);
    assert.is(r.code, 0, r.stderr.slice(-3000));
    images.push(out);
  }
  const off = firstDifference(images[0]!, images[1]!);
  assert.is(off, -1, `the factory disk images differ first at byte ${off}`);
});

const FACTORY_ANSWER = `<?xml version="1.0"?>
<installation mode="fresh" srtype="lvm">
  <primary-disk>sda</primary-disk>
  <keymap>us</keymap>
  <root-password type="hash">$6$xsforgerepro$Qf0fWnNf5a0d8kOZp7ZfK1m8y3mQk3mXGvK1xvA4GdPp0Kq4wqRkQqgk0eKmFQdW2l0w2bWZp4wQb6uT1eYxk.</root-password>
  <source type="local"/>
  <admin-interface name="eth0" proto="dhcp"/>
  <timezone>Europe/London</timezone>
  <hostname>xsf-repro-host</hostname>
</installation>
`;

test.run();
