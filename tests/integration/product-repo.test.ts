// The product's RPMs and yum repository on the built media: dnf with only the ISO
// as a repository resolves the product groups, every package verifies, and a
// signed build (throwaway key made here) passes rpmkeys -K and gpg --verify,
// with the key on the media, in .treeinfo [keys] and in its own package.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DEFAULT_RECIPE } from '../../cli/shared.ts';
import { run } from '../../core/exec.ts';
import { openIsoFile } from '../../media/iso9660.ts';
import { verifyRepository } from '../../repo/verify.ts';
import { dnfResolve } from '../lib/dnf.ts';
import { buildRecipe, xsforge } from '../lib/build.ts';

const work = mkdtempSync(join(tmpdir(), 'xsf-prodrepo-'));
test.after(async () => {
  await run(['gpgconf', '--kill', 'gpg-agent'], { env: { GNUPGHOME: join(work, 'gnupg') } }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

/** The repository files (and .treeinfo) copied out of an ISO with our reader: what dnf sees is what the media hold. */
async function repoFromIso(iso: string, dest: string): Promise<void> {
  const image = await openIsoFile(iso);
  try {
    for (const f of await image.listFiles()) {
      const p = f.path.replace(/^\//, '');
      if (f.type !== 'file' || !/^(Packages\/|repodata\/|RPM-GPG-KEY-|\.treeinfo$)/.test(p)) continue;
      mkdirSync(dirname(join(dest, p)), { recursive: true });
      writeFileSync(join(dest, p), await image.readFile(f.path));
    }
  } finally {
    await image.close();
  }
}


test('unsigned build: dnf with only the ISO as repository resolves @xenserver_dom0, and every package verifies', async () => {
  const { iso } = await buildRecipe(DEFAULT_RECIPE, { output: join(work, 'out') });
  const repo = join(work, 'media');
  await repoFromIso(iso, repo);
  const product = ['dom0-base-debian', 'kernel', 'xenserver-hypervisor', 'xenserver-release', 'xsforge-firstboot', 'xsforge-update', 'xsforge-xen-cmdline'];
  assert.equal(await dnfResolve(work, repo, ['xenserver_base', 'xenserver_dom0']), product);
  // dnf does not follow <groupreq>: @xenserver_dom0 alone brings what its packages require
  assert.equal(await dnfResolve(work, repo, ['xenserver_dom0']), ['dom0-base-debian', 'xenserver-release', 'xsforge-firstboot', 'xsforge-update', 'xsforge-xen-cmdline']);
  const v = await verifyRepository(repo);
  assert.equal([v.packages, v.damaged, v.metadataOk, v.signature.status], [product.length, [], true, 'missing']);
  const release = readdirSync(join(repo, 'Packages')).find((f) => f.startsWith('xenserver-release-'))!;
  const provides = (await run(['rpm', '-qp', '--provides', join(repo, 'Packages', release)])).stdout;
  assert.match(provides, /^product-version = 7\.1\.2$/m);
  assert.match(provides, /^platform-version = 2\.2\.0$/m);
  const hv = readdirSync(join(repo, 'Packages')).find((f) => f.startsWith('xenserver-hypervisor-'))!;
  const files = (await run(['rpm', '-qpl', join(repo, 'Packages', hv)])).stdout;
  assert.match(files, /^\/boot\/xen-4\.17\.\d+\.gz$/m);
  assert.match(files, /^\/boot\/xen-4\.17\.\d+\.efi$/m, 'the compiled build ships xen.efi too');
});

test('signed build (--sign-key, throwaway key): rpmkeys -K good on every package, gpg --verify on repomd.xml, key on the media', async () => {
  const gnupg = join(work, 'gnupg');
  mkdirSync(gnupg, { mode: 0o700 });
  const env = { GNUPGHOME: gnupg };
  await run(['gpg', '--batch', '--passphrase', '', '--quick-gen-key', 'xsforge release test <release@xsforge.invalid>', 'rsa2048', 'sign', 'never'], { env });
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec((await run(['gpg', '--batch', '--with-colons', '--list-secret-keys'], { env })).stdout)![1]!;
  const { iso } = await buildRecipe(DEFAULT_RECIPE, { output: join(work, 'signed'), extra: ['--sign-key', fpr], env });
  const repo = join(work, 'signed-media');
  await repoFromIso(iso, repo);
  const keyFile = join(repo, 'RPM-GPG-KEY-XS-7');
  assert.match(readFileSync(keyFile, 'utf8'), /BEGIN PGP PUBLIC KEY BLOCK/);
  assert.match(readFileSync(join(repo, '.treeinfo'), 'utf8'), /^\[keys\]\nkey1 = RPM-GPG-KEY-XS-7$/m);
  const dbpath = join(work, 'rpmdb');
  mkdirSync(dbpath);
  await run(['rpmkeys', '--dbpath', dbpath, '--import', keyFile]);
  const rpms = readdirSync(join(repo, 'Packages'));
  assert.ok(rpms.some((f) => f.startsWith('xenserver-gpg-keys-')), 'the key package is in the repository');
  for (const f of rpms) {
    const r = await run(['rpmkeys', '--dbpath', dbpath, '--checksig', '--verbose', join(repo, 'Packages', f)]);
    assert.match(r.stdout, new RegExp(`Header V4 RSA/SHA(256|512) Signature, key ID ${fpr.slice(-8).toLowerCase()}: OK`), `${f}: ${r.stdout}`);
    assert.not.match(r.stdout, /NOKEY|BAD|NOT OK/, f);
  }
  await run(['gpg', '--batch', '--verify', join(repo, 'repodata/repomd.xml.asc'), join(repo, 'repodata/repomd.xml')], { env });
  const v = await verifyRepository(repo, { keyringFile: keyFile });
  assert.is(v.signature.status, 'good');
  const inspect = await xsforge(['inspect', '--json', '--no-files', iso]);
  const summary = JSON.parse(inspect.stdout).repository;
  assert.equal([summary.metadataSigned, summary.packagesSigned], [true, 'all']);
  assert.ok(summary.signingKeyIds.includes(fpr.slice(-16)), JSON.stringify(summary));
});

test.run();
