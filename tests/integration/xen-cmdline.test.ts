// host-tools/xen-cmdline (POSIX sh, run by dash as on the host) against a
// grub.cfg the installer writes (target/grub.ts): it reads and changes the Xen
// and dom0 arguments of every entry, records the change in
// /etc/xensource/xen-cmdline.conf, and its result agrees with the pure rule an
// upgrade applies to the new version's entries (target/xen-cmdline.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_TOOLS_DIR } from '../../packages/product.ts';
import { DEFAULT_BOOT } from '../../target/boot-args.ts';
import { grubConfig } from '../../target/grub.ts';
import { XEN_CMDLINE_CONF, applyCmdlineEdits, parseXenCmdlineConf, type CmdlineEdit } from '../../target/xen-cmdline.ts';

const SCRIPT = join(HOST_TOOLS_DIR, 'xen-cmdline');
const SH = existsSync('/usr/bin/dash') ? '/usr/bin/dash' : '/bin/sh';
const dirs: string[] = [];
test.after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const ORIGINAL = grubConfig({ brand: 'XenServer', rootLabel: 'root-abcdef', boot: DEFAULT_BOOT });

function host(cfg = ORIGINAL): string {
  const root = mkdtempSync(join(tmpdir(), 'xsf-xen-cmdline-'));
  dirs.push(root);
  mkdirSync(join(root, 'boot/grub'), { recursive: true });
  writeFileSync(join(root, 'boot/grub/grub.cfg'), cfg);
  return root;
}

function tool(root: string, ...args: string[]) {
  const r = spawnSync(SH, [SCRIPT, ...args], { env: { PATH: process.env.PATH, XSFORGE_ROOT: root }, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** [xen args, dom0 args] of each menu entry. */
function entries(cfg: string): [string[], string[]][] {
  // a line whose every argument was deleted has none
  const words = (m: RegExpMatchArray) => (m[1] ? m[1].split(' ') : []);
  const xen = [...cfg.matchAll(/^\s*multiboot2 \/boot\/xen\.gz(?: (.*))?$/gm)].map(words);
  const dom0 = [...cfg.matchAll(/^\s*module2 \/boot\/vmlinuz(?: (.*))?$/gm)].map(words);
  assert.is(xen.length, dom0.length);
  return xen.map((x, i) => [x, dom0[i]!]);
}

test('the script is POSIX sh and executable; --help and bad use exit 2', () => {
  assert.is(spawnSync(SH, ['-n', SCRIPT]).status, 0);
  assert.ok(statSync(SCRIPT).mode & 0o111);
  const root = host();
  assert.is(tool(root, '--help').code, 2);
  assert.is(tool(root, '--frobnicate', 'x').code, 2);
  assert.is(tool(root, '--set-xen').code, 2);
  const none = mkdtempSync(join(tmpdir(), 'xsf-xen-cmdline-'));
  dirs.push(none);
  const r = tool(none, '--get-xen', 'dom0_mem');
  assert.is(r.code, 2);
  assert.match(r.err, /no .*grub\.cfg/);
});

test('--get-xen / --get-dom0 print KEY=VALUE; a missing key exits 1', () => {
  const root = host();
  const r = tool(root, '--get-xen', 'dom0_mem', 'dom0_max_vcpus');
  assert.is(r.code, 0, r.err);
  assert.is(r.out, `dom0_mem=${DEFAULT_BOOT.xen.dom0_mem}\ndom0_max_vcpus=${DEFAULT_BOOT.xen.dom0_max_vcpus}\n`);
  assert.is(tool(root, '--get-dom0', 'ro').out, 'ro\n');
  const missing = tool(root, '--get-xen', 'dma_bits');
  assert.is(missing.code, 1);
  assert.is(missing.out, '');
});

test('the seed\'s change (--set-xen dma_bits=32) and a dom0_mem change reach every entry and are recorded', () => {
  const root = host();
  assert.is(tool(root, '--set-xen', 'dma_bits=32').code, 0);
  assert.is(tool(root, '--set-xen', 'dom0_mem=1280M,max:1280M').code, 0);
  const cfg = readFileSync(join(root, 'boot/grub/grub.cfg'), 'utf8');
  const e = entries(cfg);
  assert.is(e.length, 2);
  for (const [xen] of e) {
    assert.ok(xen.includes('dma_bits=32'), xen.join(' '));
    // replaced in place, once
    assert.is(xen[0], 'dom0_mem=1280M,max:1280M');
    assert.is(xen.filter((w) => w.startsWith('dom0_mem=')).length, 1);
  }
  // only the command lines changed
  const strip = (t: string) => t.split('\n').filter((l) => !/multiboot2|module2 \/boot\/vmlinuz/.test(l));
  assert.equal(strip(cfg), strip(ORIGINAL));
  assert.equal(parseXenCmdlineConf(readFileSync(join(root, XEN_CMDLINE_CONF), 'utf8')), [
    { target: 'xen', op: 'set', arg: 'dma_bits=32' },
    { target: 'xen', op: 'set', arg: 'dom0_mem=1280M,max:1280M' },
  ]);
});

test('arguments GRUB would split or expand are refused and nothing changes', () => {
  const root = host();
  for (const bad of ['a b', 'x=$(reboot)', "q='1'", 'a;b', '=1', 'k={x}', 'c#d']) {
    const r = tool(root, '--set-xen', bad);
    assert.is(r.code, 2, bad);
    assert.match(r.err, /cannot go on a boot command line/);
  }
  assert.is(tool(root, '--delete-xen', 'dom0_mem=1G').code, 2);
  assert.is(readFileSync(join(root, 'boot/grub/grub.cfg'), 'utf8'), ORIGINAL);
  assert.not.ok(existsSync(join(root, XEN_CMDLINE_CONF)));
});

test('the tool and the upgrade\'s rule agree: any sequence of edits, replayed from the record onto fresh entries, gives the same arguments', () => {
  // a fixed pseudo-random sequence: sets, replacements and deletions of new and existing keys
  const keys = ['dom0_mem', 'dom0_max_vcpus', 'dma_bits', 'console', 'loglvl', 'quiet', 'iommu'];
  let seed = 7;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
  for (let round = 0; round < 6; round++) {
    const root = host();
    const edits: CmdlineEdit[] = [];
    for (let i = 0; i < 8; i++) {
      const target = rnd(3) === 0 ? 'dom0' : 'xen';
      const key = keys[rnd(keys.length)]!;
      const op = rnd(4) === 0 ? 'delete' : 'set';
      const arg = op === 'delete' ? key : rnd(3) === 0 ? key : `${key}=${rnd(900) + 100}M`;
      const r = tool(root, `--${op}-${target}`, arg);
      assert.is(r.code, 0, `${op} ${target} ${arg}: ${r.err}`);
      edits.push({ target, op, arg });
    }
    const after = entries(readFileSync(join(root, 'boot/grub/grub.cfg'), 'utf8'));
    const before = entries(ORIGINAL);
    const recorded = parseXenCmdlineConf(readFileSync(join(root, XEN_CMDLINE_CONF), 'utf8'));
    const sorted = (a: string[]) => [...a].sort();
    before.forEach(([xen, dom0], i) => {
      // the whole sequence, in order: the same words in the same order
      assert.equal(after[i]![0], applyCmdlineEdits(xen, edits, 'xen'), `round ${round} entry ${i} xen`);
      assert.equal(after[i]![1], applyCmdlineEdits(dom0, edits, 'dom0'), `round ${round} entry ${i} dom0`);
      // the record (one line per key): the same words; an upgrade may place them in another order
      assert.equal(sorted(applyCmdlineEdits(xen, recorded, 'xen')), sorted(after[i]![0]), `round ${round} entry ${i} xen from the record`);
      assert.equal(sorted(applyCmdlineEdits(dom0, recorded, 'dom0')), sorted(after[i]![1]), `round ${round} entry ${i} dom0 from the record`);
    });
  }
});

test('the tool and the record accept the same words', () => {
  for (const w of ['dma_bits=32', 'dom0_mem=1G,max:2G', 'iommu=no-igfx', 'a@b%c+d', 'x/y.z', 'a b', 'a$b', "a'b", 'a;b', 'a{b', 'a#b', 'a\\b', '=x', 'é=1', 'a*b', 'a|b']) {
    const byTool = tool(host(), '--set-xen', w).code === 0;
    let byRecord = true;
    try { parseXenCmdlineConf(`xen set ${w}\n`); } catch { byRecord = false; }
    if (/\s/.test(w)) assert.not.ok(byTool, w); // a record line cannot hold a blank anyway
    else assert.is(byTool, byRecord, w);
  }
});

test('a record line the tool never writes is refused with its line number', () => {
  assert.throws(() => parseXenCmdlineConf('# c\nxen set a=1\nxen frob b\n'), /line 3: expected/);
  assert.throws(() => parseXenCmdlineConf('dom0 delete a=1\n'), /line 1: delete takes KEY/);
  assert.throws(() => parseXenCmdlineConf('xen set a$b\n'), /line 1/);
});

test.run();
