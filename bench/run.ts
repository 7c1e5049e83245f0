// npm run bench: each benchmark prints its figure, a baseline measured in the
// same run, and their ratio; all results go to output/bench/results.json.
//   noop-rebuild   whole `xsforge build` process with everything cached, vs a bare `node` start
//   iso-mastering  our ISO stage (tree assembly, xorriso through core/exec, output hashing) vs a bare
//                  xorriso call with the same arguments on the same tree
//   pxe-10k-hosts  inventory of 10,000 hosts -> parse, answer files (each validated), pxelinux/GRUB configs
//                  and the whole tree (writeNetbootTree) vs a plain loop writing the same number of small files
//   repo-metadata  our repository step (assembleRepository: lay out Packages/, createrepo_c, read-back
//                  check) for 1,000 small packages vs a bare createrepo_c with the same arguments
// `npm run bench -- NAME...` runs only the benchmarks named.
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DEFAULT_RECIPE, REPO_ROOT } from '../cli/shared.ts';
import { defaultCacheRoot } from '../core/cache.ts';
import { xorrisoArgs } from '../media/stages.ts';
import { run } from '../core/exec.ts';
import { assembleRepository, createrepoArgv } from '../repo/stage.ts';
import { makeTestRpms } from '../tests/lib/rpm-fixtures.ts';
import { inventoryNetboot } from '../cli/commands/pxe.ts';
import { parseInventory } from '../inventory/load.ts';
import { buildMenu } from '../media/menu.ts';
import { PXELINUX_FILES, writeNetbootTree } from '../netboot/tree.ts';
import { loadRecipe } from '../recipes/load.ts';

interface Result { name: string; value: number; unit: string; baseline: number; baselineName: string; ratio: number; target?: string; met?: boolean; samples: number[] }
const results: Result[] = [];
const cli = join(REPO_ROOT, 'bin', 'xsforge');

function time(argv: string[], env: Record<string, string> = {}): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr?.toString().slice(-2000)}`);
  return s;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function report(r: Omit<Result, 'ratio'>): void {
  const full = { ...r, ratio: r.value / r.baseline };
  results.push(full);
  const met = r.met === undefined ? '' : r.met ? '  [target met]' : '  [TARGET MISSED]';
  console.log(`${r.name.padEnd(16)} ${r.value.toFixed(3)} ${r.unit}   baseline (${r.baselineName}) ${r.baseline.toFixed(3)} ${r.unit}   ratio ${full.ratio.toFixed(2)}x${r.target ? `   target ${r.target}` : ''}${met}`);
}

// `npm run bench -- pxe-10k-hosts ...` runs only the named benchmarks (results.json keeps the others' last figures)
const only = process.argv.slice(2);
const known = ['noop-rebuild', 'iso-mastering', 'repo-metadata', 'pxe-10k-hosts'];
for (const name of only) if (!known.includes(name)) throw new Error(`unknown benchmark ${name} (known: ${known.join(', ')})`);
const want = (name: string) => only.length === 0 || only.includes(name);

const output = mkdtempSync(join(tmpdir(), 'xsf-bench-'));
if (want('noop-rebuild') || want('iso-mastering')) {
  console.log('warming: building the default recipe (cached stages are reused)...');
  time([process.execPath, cli, 'build', DEFAULT_RECIPE, '-q', '-o', output]);
}

// no-op rebuild: the whole CLI process, five runs, median
if (want('noop-rebuild')) {
  const runs = Array.from({ length: 5 }, () => time([process.execPath, cli, 'build', DEFAULT_RECIPE, '-q', '-o', output]));
  const base = Array.from({ length: 5 }, () => time([process.execPath, '-e', '0']));
  const v = median(runs);
  report({ name: 'noop-rebuild', value: v, unit: 's', baseline: median(base), baselineName: 'bare node start', target: '< 1 s', met: v < 1, samples: runs });
}

// ISO mastering: our stage forced to rerun, vs bare xorriso on the stage's tree
if (want('iso-mastering')) {
  const ours: number[] = [];
  for (let i = 0; i < 3; i++) ours.push(time([process.execPath, cli, 'build', DEFAULT_RECIPE, '-q', '-o', output, '--force', 'iso']));
  const noop = median(Array.from({ length: 3 }, () => time([process.execPath, cli, 'build', DEFAULT_RECIPE, '-q', '-o', output])));
  // the same tree xorriso saw: unpack the ISO we just built
  const tree = join(output, 'bench-tree');
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(tree);
  const iso = join(output, 'xenserver-7.1.2', 'xenserver-7.1.2.iso');
  time(['osirrox', '-indev', iso, '-extract', '/', tree]);
  rmSync(join(tree, 'boot/isolinux/boot.cat'), { force: true }); // xorriso writes the catalog itself
  const manifest = JSON.parse(readFileSync(join(output, 'xenserver-7.1.2', 'manifest.json'), 'utf8'));
  const mbr = join(defaultCacheRoot(), 'stages', manifest.stages['boot-files'], 'out', 'syslinux', 'isohdpfx.bin');
  const bare: number[] = [];
  for (let i = 0; i < 3; i++) {
    const args = xorrisoArgs(tree, join(output, 'bare.iso'), 'XS712', mbr, 1533081600);
    rmSync(join(output, 'bare.iso'), { force: true });
    bare.push(time(args, { SOURCE_DATE_EPOCH: '1533081600', TZ: 'UTC' }));
  }
  // the stage's own cost: forced build minus the fixed cost of a no-op build process
  const stage = median(ours) - noop;
  report({ name: 'iso-mastering', value: stage, unit: 's', baseline: median(bare), baselineName: 'bare xorriso', target: '<= 1.10x', met: stage / median(bare) <= 1.10, samples: ours.map((x) => x - noop) });
}

// repository metadata for 1,000 small packages (fixtures made once, kept in the cache)
if (want('repo-metadata')) {
  const fixtures = join(defaultCacheRoot(), 'bench', 'rpms-1000');
  if (!existsSync(join(fixtures, 'done'))) {
    console.log('making 1,000 small test RPMs (once; kept in the cache)...');
    rmSync(fixtures, { recursive: true, force: true });
    mkdirSync(fixtures, { recursive: true });
    await makeTestRpms(fixtures, Array.from({ length: 1000 }, (_, i) => ({ name: `bench-pkg-${String(i).padStart(4, '0')}`, version: '1.0', files: { [`/usr/share/bench/${i}`]: `${i}\n` } })));
    writeFileSync(join(fixtures, 'done'), '');
  }
  const rpms = readdirSync(fixtures).filter((f) => f.endsWith('.rpm')).map((f) => join(fixtures, f));
  const runExec = (argv: string[], opts?: Parameters<typeof run>[1]) => run(argv, opts);
  const ours: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < 5; i++) {
    const out = mkdtempSync(join(output, 'repo-'));
    const t = process.hrtime.bigint();
    await assembleRepository({ out, work: join(out, '..', `${basename(out)}-work`), rpms, sourceDateEpoch: 1533081600, run: runExec, log: () => {} });
    ours.push(Number(process.hrtime.bigint() - t) / 1e9);
    // the baseline gets the packages in place for free: only createrepo_c is timed
    const plain = mkdtempSync(join(output, 'bare-'));
    mkdirSync(join(plain, 'Packages'));
    for (const r of rpms) linkSync(r, join(plain, 'Packages', basename(r)));
    bare.push(time(createrepoArgv(plain, 1533081600)));
  }
  const v = median(ours);
  report({ name: 'repo-metadata', value: v, unit: 's', baseline: median(bare), baselineName: 'bare createrepo_c', target: '<= 1.20x', met: v / median(bare) <= 1.20, samples: ours });
}

// network-boot trees for 10,000 hosts: from the hosts file text to the written tree
if (want('pxe-10k-hosts')) {
  const N = 10_000;
  const hex = (i: number) => [(i >> 8) & 0xff, i & 0xff].map((b) => b.toString(16).padStart(2, '0')).join(':');
  const yaml = [
    'defaults:',
    '  primary_disk: sda',
    '  management: { mode: dhcp }',
    '  root_password: { hash: "$6$xsforgebench$Qf0fWnNf5a0d8kOZp7ZfK1m8y3mQk3mXGvK1xvA4GdPp0Kq4wqRkQqgk0eKmFQdW2l0w2bWZp4wQb6uT1eYxk." }',
    'hosts:',
    ...Array.from({ length: N }, (_, i) => `  - { mac: "52:54:00:10:${hex(i)}", hostname: host-${i}.example.com }`),
    '',
  ].join('\n');
  // tiny stand-ins for the boot files: the per-host cost is what is measured
  const src = mkdtempSync(join(output, 'pxe-src-'));
  for (const f of ['xen.gz', 'vmlinuz', 'install.img', 'grubx64.efi', ...PXELINUX_FILES]) writeFileSync(join(src, f), f);
  const recipe = loadRecipe(DEFAULT_RECIPE);
  const menu = buildMenu(recipe);
  const id = { brand: recipe.product.brand, version: recipe.product.version, build: recipe.product.build_number };
  const base = 'http://192.0.2.10:8080';
  const ours: number[] = [];
  const plain: number[] = [];
  const phases: { parse: number; generate: number; tree: number }[] = [];
  for (let round = 0; round < 3; round++) {
    const t = process.hrtime.bigint();
    const parsed = parseInventory(yaml, 'bench-hosts.yaml');
    if (!parsed.inventory) throw new Error(`bench inventory invalid: ${parsed.errors[0]?.message}`);
    const t1 = process.hrtime.bigint();
    // as `xsforge pxe` does it: boot entries, answer files, each answer file validated as it is written
    const { hosts, answers, checkAnswer } = inventoryNetboot(parsed.inventory.hosts, base);
    const t2 = process.hrtime.bigint();
    await writeNetbootTree({
      menu, id, hosts, out: join(output, `pxe-tree-${round}`), baseUrl: base,
      sources: { xenGz: join(src, 'xen.gz'), vmlinuz: join(src, 'vmlinuz'), installImg: join(src, 'install.img'), syslinuxDir: src, grubNetImage: join(src, 'grubx64.efi') },
      httpTree: { repoDir: src, answers, checkAnswer },
    });
    const t3 = process.hrtime.bigint();
    ours.push(Number(t3 - t) / 1e9);
    phases.push({ parse: Number(t1 - t) / 1e9, generate: Number(t2 - t1) / 1e9, tree: Number(t3 - t2) / 1e9 });
    // the baseline: the same number of small files (a pxelinux file and an answer file per host)
    const dir = mkdtempSync(join(output, 'plain-'));
    const tPlain = process.hrtime.bigint();
    for (let i = 0; i < N; i++) {
      writeFileSync(join(dir, `01-${i}`), `DEFAULT x\nLABEL x\n  KERNEL mboot.c32\n  APPEND host ${i}\n`);
      writeFileSync(join(dir, `${i}.xml`), `<installation mode="fresh"><hostname>host-${i}</hostname></installation>\n`);
    }
    plain.push(Number(process.hrtime.bigint() - tPlain) / 1e9);
  }
  const v = median(ours);
  report({ name: 'pxe-10k-hosts', value: v, unit: 's', baseline: median(plain), baselineName: `plain loop, ${2 * N} small files`, target: '< 5 s', met: v < 5, samples: ours });
  console.log(`                 per host: ${(v / N * 1e6).toFixed(0)} us`);
  const phase = (k: keyof (typeof phases)[number]) => median(phases.map((p) => p[k])).toFixed(3);
  console.log(`                 phases (median s): inventory ${phase('parse')}, entries + answer files ${phase('generate')}, tree (configs, validation, writes) ${phase('tree')}`);
}

mkdirSync(join(REPO_ROOT, 'output', 'bench'), { recursive: true });
const resultsFile = join(REPO_ROOT, 'output', 'bench', 'results.json');
// a partial run replaces its own entries and keeps the rest of the previous run's
const kept: Result[] = only.length && existsSync(resultsFile)
  ? (JSON.parse(readFileSync(resultsFile, 'utf8')).results as Result[]).filter((r) => !results.some((x) => x.name === r.name))
  : [];
writeFileSync(resultsFile, `${JSON.stringify({ time: new Date().toISOString(), results: [...kept, ...results] }, null, 2)}\n`);
console.log(`results: ${resultsFile}`);
rmSync(output, { recursive: true, force: true });
