// npm run bench: each benchmark prints its figure, a baseline measured in the
// same run, and their ratio (and its target, met or not); all results go to
// output/bench/results.json and a summary table closes the run.
//   noop-rebuild   whole `xsforge build` process with everything cached, vs a bare `node` start
//   menu-change    the default recipe with one more dom0 argument (a fresh value each run, so never
//                  cached): which stages rerun (must be exactly the menu-dependent ones) and the
//                  whole build process, vs the no-op rebuild
//   iso-mastering  our ISO stage (tree assembly, xorriso through core/exec, output hashing) vs a bare
//                  xorriso call with the same arguments on the same tree
//   repo-metadata  our repository step (assembleRepository: lay out Packages/, createrepo_c, read-back
//                  check) for 1,000 small packages vs a bare createrepo_c with the same arguments
//   pxe-10k-hosts  inventory of 10,000 hosts -> parse, answer files (each validated), pxelinux/GRUB configs
//                  and the whole tree (writeNetbootTree) vs a plain loop writing the same number of small files
// Opt-in (minutes each; run only when named):
//   cold-build     the default recipe into an empty stage cache with the download cache kept (no
//                  .deb downloaded again): wall time and stage timeline vs the sum of stage durations
//   install-time   unattended install in QEMU from the e2e install ISO: boot to the installer's
//                  first marker (the baseline), to its plan, to install complete, to power-off
// `npm run bench -- NAME...` runs only the benchmarks named; `npm run bench -- --help` lists them.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DEFAULT_RECIPE, REPO_ROOT } from '../cli/shared.ts';
import { defaultCacheRoot, downloadsRootFor } from '../core/cache.ts';
import { sha256File } from '../core/hash.ts';
import { xorrisoArgs } from '../media/stages.ts';
import { run } from '../core/exec.ts';
import { assembleRepository, createrepoArgv } from '../repo/stage.ts';
import { makeTestRpms } from '../tests/lib/rpm-fixtures.ts';
import { inventoryNetboot } from '../cli/commands/pxe.ts';
import { parseInventory } from '../inventory/load.ts';
import { buildMenu } from '../media/menu.ts';
import { PXELINUX_FILES, writeNetbootTree } from '../netboot/tree.ts';
import { loadRecipe } from '../recipes/load.ts';
import { checkStageSet, formatTimeline, parseEvents, stageRuns, stageTimeline, summaryTable, type BenchResult, type BuildEvent } from './lib.ts';

const DEFAULT_SET = ['noop-rebuild', 'menu-change', 'iso-mastering', 'repo-metadata', 'pxe-10k-hosts'];
const OPT_IN = ['cold-build', 'install-time'];
const USAGE = `usage: npm run bench [-- NAME...]
  with no NAME: ${DEFAULT_SET.join(', ')}
  opt-in, run only when named (minutes each): ${OPT_IN.join(', ')}
  e.g. npm run bench -- cold-build; node --import tsx bench/run.ts repo-metadata iso-mastering
results: output/bench/results.json (a partial run keeps the other benchmarks' last figures)`;

const results: BenchResult[] = [];
const cli = join(REPO_ROOT, 'bin', 'xsforge');

/** Wall time of a whole process; its stdout when asked for (build --json events). */
function timed(argv: string[], env: Record<string, string> = {}, keepStdout = false): { s: number; stdout: string } {
  const t = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', keepStdout ? 'pipe' : 'ignore', 'pipe'], env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr?.toString().slice(-2000)}`);
  return { s, stdout: keepStdout ? r.stdout.toString() : '' };
}
const time = (argv: string[], env: Record<string, string> = {}) => timed(argv, env).s;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function report(r: Omit<BenchResult, 'ratio'>): void {
  const full = { ...r, ratio: r.value / r.baseline };
  results.push(full);
  const met = r.met === undefined ? '' : r.met ? '  [target met]' : '  [TARGET MISSED]';
  console.log(`${r.name.padEnd(16)} ${r.value.toFixed(3)} ${r.unit}   baseline (${r.baselineName}) ${r.baseline.toFixed(3)} ${r.unit}   ratio ${full.ratio.toFixed(2)}x${r.target ? `   target ${r.target}` : ''}${met}`);
}

const only = process.argv.slice(2);
if (only.includes('--help') || only.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
for (const name of only) if (![...DEFAULT_SET, ...OPT_IN].includes(name)) throw new Error(`unknown benchmark ${name}\n${USAGE}`);
const want = (name: string) => (only.length === 0 ? DEFAULT_SET.includes(name) : only.includes(name));
console.log(`load average at start: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);

const output = mkdtempSync(join(tmpdir(), 'xsf-bench-'));
const buildArgv = (recipe: string, out: string, ...extra: string[]) => [process.execPath, cli, 'build', recipe, '-o', out, ...extra];

/**
 * `n` timed builds of the default recipe in which exactly the `expected` stages
 * ran (by their --json events). A build where more ran is not what is measured
 * (a source file changed meanwhile and an upstream stage rebuilt): it is said
 * and taken again.
 */
function defaultBuildSamples(n: number, expected: string[], ...extra: string[]): number[] {
  const samples: number[] = [];
  for (let tries = 0; samples.length < n; tries++) {
    if (tries >= n + 4) throw new Error(`could not get ${n} builds that ran exactly [${expected.join(', ')}]: the sources keep changing`);
    const r = timed(buildArgv(DEFAULT_RECIPE, output, '--json', ...extra), {}, true);
    const c = checkStageSet(stageRuns(parseEvents(r.stdout)).ran, expected);
    if (c.exact) samples.push(r.s);
    else console.log(`                 (sample of ${r.s.toFixed(1)} s not counted: ${[...c.unexpected.map((x) => `${x} ran`), ...c.missing.map((x) => `${x} did not run`)].join(', ')})`);
  }
  return samples;
}
if (want('noop-rebuild') || want('iso-mastering') || want('menu-change')) {
  console.log('warming: building the default recipe (cached stages are reused)...');
  time(buildArgv(DEFAULT_RECIPE, output, '-q'));
}

// no-op rebuild: the whole CLI process, five runs, median
let noopMedian: number | undefined;
if (want('noop-rebuild')) {
  const runs = defaultBuildSamples(5, []);
  const base = Array.from({ length: 5 }, () => time([process.execPath, '-e', '0']));
  noopMedian = median(runs);
  report({ name: 'noop-rebuild', value: noopMedian, unit: 's', baseline: median(base), baselineName: 'bare node start', target: '< 1 s', met: noopMedian < 1, samples: runs });
}

// one boot-menu parameter changed: only what reads the menus may rerun
// menus renders them, efi-image carries grub.cfg, the ISO carries both
const MENU_DEPENDENT_STAGES = ['menus', 'efi-image', 'iso'];
if (want('menu-change')) {
  const dir = mkdtempSync(join(tmpdir(), 'xsf-bench-menu-'));
  const name = loadRecipe(DEFAULT_RECIPE).name;
  const runs: number[] = [];
  const ranSets: string[][] = [];
  const cacheRoot = defaultCacheRoot();
  try {
    for (let i = 0; i < 3; i++) {
      // a value no build has used: the menus stage can never be a cache hit
      const nonce = `${Date.now().toString(36)}${process.pid.toString(36)}${i}`;
      const recipe = join(dir, `menu-change-${i}.yaml`);
      writeFileSync(recipe, `extends: ${DEFAULT_RECIPE}\nname: ${name}\nboot:\n  dom0:\n    extra: [xsforge_bench=${nonce}]\n`);
      // upstream stages current first: a source edited meanwhile must not count against the menus
      time(buildArgv(DEFAULT_RECIPE, output, '-q'));
      const r = timed(buildArgv(recipe, join(dir, 'out'), '--json'), {}, true);
      const events = parseEvents(r.stdout);
      runs.push(r.s);
      ranSets.push(stageRuns(events).ran);
      // the menu-dependent entries hold this run's nonce (the ISO is ~300 MB): no
      // later build can use them. Any other stage that ran is kept: it is valid.
      for (const e of events as (BuildEvent & { key?: string })[]) {
        if (e.type === 'stage-finish' && MENU_DEPENDENT_STAGES.includes(e.stage!) && e.key && /^[0-9a-f]{64}$/.test(e.key)) rmSync(join(cacheRoot, 'stages', e.key), { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const checks = ranSets.map((ran) => checkStageSet(ran, MENU_DEPENDENT_STAGES));
  const exact = checks.every((c) => c.exact);
  const base = noopMedian ?? median(defaultBuildSamples(3, []));
  console.log(`                 stages that ran: ${ranSets.map((r) => r.join(', ')).join(' | ')}`);
  for (const c of checks) if (!c.exact) console.log(`                 not exactly the menu-dependent stages: ${c.unexpected.length ? `also ran ${c.unexpected.join(', ')}` : ''}${c.missing.length ? ` did not run ${c.missing.join(', ')}` : ''}`);
  report({
    name: 'menu-change', value: median(runs), unit: 's', baseline: base, baselineName: 'no-op rebuild',
    target: `stages run = ${MENU_DEPENDENT_STAGES.join(', ')}`, met: exact, samples: runs, details: { ran: ranSets, expected: MENU_DEPENDENT_STAGES },
  });
}

// ISO mastering: our stage forced to rerun, vs bare xorriso on the stage's tree
if (want('iso-mastering')) {
  const ours: number[] = [];
  const stageMs: number[] = [];
  for (let tries = 0; ours.length < 3; tries++) {
    if (tries >= 7) throw new Error('could not get 3 forced builds that ran only the iso stage: the sources keep changing');
    const r = timed(buildArgv(DEFAULT_RECIPE, output, '--json', '--force', 'iso'), {}, true);
    const events = parseEvents(r.stdout);
    const c = checkStageSet(stageRuns(events).ran, ['iso']);
    if (!c.exact) {
      console.log(`                 (sample of ${r.s.toFixed(1)} s not counted: ${c.unexpected.join(', ')} also ran)`);
      continue;
    }
    ours.push(r.s);
    stageMs.push(events.find((e) => e.type === 'stage-finish' && e.stage === 'iso')?.durationMs ?? NaN);
  }
  const noop = median(defaultBuildSamples(3, []));
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
  // where the time goes: the engine hashes every output file before committing the entry
  const hashRuns: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = process.hrtime.bigint();
    await sha256File(iso);
    hashRuns.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  const hashS = median(hashRuns);
  // what a release script does to publish the same ISO: master it, then sha256sum it
  const withSum: number[] = [];
  for (let i = 0; i < 3; i++) {
    rmSync(join(output, 'bare.iso'), { force: true });
    const t = process.hrtime.bigint();
    await run(xorrisoArgs(tree, join(output, 'bare.iso'), 'XS712', mbr, 1533081600), { env: { SOURCE_DATE_EPOCH: '1533081600', TZ: 'UTC' } });
    await run(['sha256sum', join(output, 'bare.iso')]);
    withSum.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  report({ name: 'iso-mastering', value: stage, unit: 's', baseline: median(bare), baselineName: 'bare xorriso', target: '<= 1.10x', met: stage / median(bare) <= 1.10, samples: ours.map((x) => x - noop),
    details: { stageEventS: median(stageMs) / 1000, isoSha256S: hashS, xorrisoThenSha256sumS: median(withSum), ratioToXorrisoThenSha256sum: stage / median(withSum) } });
  console.log(`                 against xorriso then sha256sum (the digest every published ISO needs) ${median(withSum).toFixed(3)} s: ${(stage / median(withSum)).toFixed(2)}x`);
  console.log(`                 iso stage (stage-finish event, run + commit) ${(median(stageMs) / 1000).toFixed(3)} s; of it sha256 of the ${(statSync(iso).size / 2 ** 20).toFixed(0)} MiB ISO at commit ~${hashS.toFixed(3)} s; rest over bare xorriso ${(stage - hashS - median(bare)).toFixed(3)} s`);
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
  for (let i = 0; i < 9; i++) {
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

// cold build with a warm package cache: a fresh stage cache, the default download cache
if (want('cold-build')) {
  const cache = mkdtempSync(join(tmpdir(), 'xsf-bench-cold-'));
  try {
    const downloads = downloadsRootFor(defaultCacheRoot());
    console.log(`cold build: stage cache ${cache}, downloads from ${downloads} (several minutes)...`);
    const r = timed(buildArgv(DEFAULT_RECIPE, join(cache, 'out'), '--json'), { XSFORGE_CACHE: cache, XSFORGE_DOWNLOADS: downloads }, true);
    const events = parseEvents(r.stdout);
    const timeline = stageTimeline(events);
    const sum = timeline.reduce((a, t) => a + t.durationMs, 0) / 1000;
    const { cached } = stageRuns(events);
    report({ name: 'cold-build', value: r.s, unit: 's', baseline: sum, baselineName: 'sum of stage durations', samples: [r.s], details: { timeline, cached } });
    console.log(`                 ratio = wall / stage work: below 1, stages ran side by side (-j 2); wall time outside any stage ${(r.s - (Math.max(...timeline.map((t) => t.startMs + t.durationMs)) / 1000)).toFixed(1)} s (start-up, planning, publishing)`);
    for (const l of formatTimeline(timeline)) console.log(`               ${l}`);
    if (cached.length) console.log(`                 (cached although the stage cache was empty: ${cached.join(', ')})`);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

// unattended install in QEMU (the e2e install test's ISO and answer file)
if (want('install-time')) {
  const { AnswerServer, ANSWER_PORT, NIC_ARGS, buildInstallIso, freshAnswer, sparseDisk } = await import('../tests/lib/install-env.ts');
  const { buildRecipe } = await import('../tests/lib/build.ts');
  const { withVm } = await import('../testbed/qemu.ts');
  const work = mkdtempSync(join(tmpdir(), 'xsf-bench-install-'));
  const answer = freshAnswer('xsf-bench-host');
  const portFree = (port: number) => new Promise<boolean>((done) => {
    const probe = createServer().once('error', () => done(false)).listen(port, '127.0.0.1', () => probe.close(() => done(true)));
  });
  let stopServer = () => {};
  try {
    let tBuild = process.hrtime.bigint();
    let iso: string;
    if (await portFree(ANSWER_PORT)) {
      // exactly the e2e install test's ISO, so usually a cache hit
      const server = new AnswerServer();
      await server.start();
      stopServer = () => server.stop();
      server.served.set('/answer.xml', answer);
      tBuild = process.hrtime.bigint();
      iso = await buildInstallIso(work, 'e2e-install');
    } else {
      // an e2e test holds the fixed port: the same recipe with the next port
      // (its own ISO, built once and cached like the e2e one)
      const port = ANSWER_PORT + 1;
      console.log(`port ${ANSWER_PORT} is in use (an e2e test is running?): serving the answer file on ${port}`);
      const server = createHttpServer((req, res) => {
        if (req.url?.split('?')[0] === '/answer.xml') res.writeHead(200, { 'content-type': 'text/plain' }).end(answer);
        else res.writeHead(404).end();
      });
      await new Promise<void>((ok, fail) => { server.once('error', fail); server.listen(port, '127.0.0.1', ok); });
      stopServer = () => server.close();
      const recipe = join(work, 'bench-install.yaml');
      writeFileSync(recipe, `extends: ${DEFAULT_RECIPE}\nname: bench-install\nboot:\n  timeout: 10\n  dom0:\n    extra: [install, "answerfile=http://10.0.2.2:${port}/answer.xml", atexit=poweroff]\n`);
      tBuild = process.hrtime.bigint();
      iso = (await buildRecipe(recipe, { output: join(work, 'out') })).iso;
    }
    const buildS = Number(process.hrtime.bigint() - tBuild) / 1e9;
    const disk = join(work, 'disk.img');
    sparseDisk(disk, 60e9);
    const serialLog = join(work, 'install-serial.log');
    console.log(`install-time: ISO ready in ${buildS.toFixed(1)} s; installing in QEMU (minutes)...`);
    const phases = await withVm({ media: iso, bootAs: 'cd', firmware: 'bios', serialLog, extraDisks: [{ path: disk, writable: true }], extraArgs: NIC_ARGS, memoryMiB: 2048, retryFlakyBoot: false }, async (vm) => {
      const t0 = process.hrtime.bigint();
      const at = (re: RegExp, ms: number) => vm.waitFor(re, ms).then(() => Number(process.hrtime.bigint() - t0) / 1e9);
      // a failed install ends the wait at once instead of at the timeouts
      const failed = vm.waitFor(/XSFORGE-INSTALL-FAILED|XSFORGE-INIT-FAILED/, Infinity).then(() => { throw new Error(`the install failed; serial log ${serialLog}:\n${vm.serialText().slice(-3000)}`); });
      failed.catch(() => {});
      const marks = Promise.all([at(/XSFORGE-INSTALLER-READY/, 600_000), at(/XSFORGE-INSTALL-PLAN/, 600_000), at(/XSFORGE-INSTALL-COMPLETE/, 1_800_000)]);
      const [ready, plan, complete] = await Promise.race([marks, failed]);
      const status = await vm.waitExit(180_000);
      if (status !== 0) throw new Error(`QEMU exited with ${status} after the install (atexit=poweroff should end it with 0)`);
      return { ready, plan, complete, poweroff: Number(process.hrtime.bigint() - t0) / 1e9, accel: vm.accel };
    });
    report({ name: 'install-time', value: phases.poweroff, unit: 's', baseline: phases.ready, baselineName: 'boot to installer ready', samples: [phases.poweroff],
      details: { isoBuildS: buildS, ...phases } });
    console.log(`                 (${phases.accel}) ISO build ${buildS.toFixed(1)} s; from QEMU start: installer ready ${phases.ready.toFixed(1)} s, install plan ${phases.plan.toFixed(1)} s, install complete ${phases.complete.toFixed(1)} s, powered off ${phases.poweroff.toFixed(1)} s`);
  } finally {
    stopServer();
    rmSync(work, { recursive: true, force: true });
  }
}

console.log(`load average at end: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
console.log('');
for (const l of summaryTable(results)) console.log(l);

mkdirSync(join(REPO_ROOT, 'output', 'bench'), { recursive: true });
const resultsFile = join(REPO_ROOT, 'output', 'bench', 'results.json');
// a partial run replaces its own entries and keeps the rest of the previous run's
const kept: BenchResult[] = only.length && existsSync(resultsFile)
  ? (JSON.parse(readFileSync(resultsFile, 'utf8')).results as BenchResult[]).filter((r) => !results.some((x) => x.name === r.name))
  : [];
writeFileSync(resultsFile, `${JSON.stringify({ time: new Date().toISOString(), loadavg: readFileSync('/proc/loadavg', 'utf8').trim(), results: [...kept, ...results] }, null, 2)}\n`);
console.log(`results: ${resultsFile}`);
rmSync(output, { recursive: true, force: true });
