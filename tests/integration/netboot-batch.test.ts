// writeNetbootTree with many hosts, as `xsforge pxe` calls it (inventoryNetboot):
// every per-host file written with the batched writer, each answer file checked by
// the answer-file validator as it is written, and a file the validator refuses
// stops the tree with the previous one kept and no scratch directory left.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RECIPE } from '../../cli/shared.ts';
import { inventoryNetboot } from '../../cli/commands/pxe.ts';
import { parseAnswerFile } from '../../answerfiles/parse.ts';
import { parseInventory } from '../../inventory/load.ts';
import { buildMenu } from '../../media/menu.ts';
import { PXELINUX_FILES, writeNetbootTree, type NetbootSources } from '../../netboot/tree.ts';
import { loadRecipe } from '../../recipes/load.ts';

const N = 600;
const work = mkdtempSync(join(tmpdir(), 'xsf-netboot-batch-'));
const BASE = 'http://192.0.2.10:8080';
const recipe = loadRecipe(DEFAULT_RECIPE);
const menu = buildMenu(recipe);
const id = { brand: recipe.product.brand, version: recipe.product.version, build: recipe.product.build_number };
const src = join(work, 'src');
let sources: NetbootSources;
test.after(() => rmSync(work, { recursive: true, force: true }));

function inventoryText(n: number): string {
  const mac = (i: number) => (0x525400100000 + i).toString(16).match(/../g)!.join(':');
  return [
    'defaults:',
    '  primary_disk: sda',
    '  management: { netmask: 255.255.0.0, gateway: 10.1.0.1, dns: [10.1.0.53] }',
    '  root_password: { hash: "$6$xsforgebench$Qf0fWnNf5a0d8kOZp7ZfK1m8y3mQk3mXGvK1xvA4GdPp0Kq4wqRkQqgk0eKmFQdW2l0w2bWZp4wQb6uT1eYxk." }',
    'hosts:',
    ...Array.from({ length: n }, (_, i) => i % 2
      ? `  - { mac: "${mac(i)}", hostname: s${i}.lab, management: { mode: static, ip: 10.1.${i >> 7}.${(i & 0x7f) + 2} } }`
      : `  - { mac: "${mac(i)}", hostname: d${i}.lab, console: vga }`),
    '',
  ].join('\n');
}

test.before(() => {
  mkdirSync(src);
  for (const f of ['xen.gz', 'vmlinuz', 'install.img', 'grubx64.efi', ...PXELINUX_FILES]) writeFileSync(join(src, f), `${f}\n`);
  sources = { xenGz: join(src, 'xen.gz'), vmlinuz: join(src, 'vmlinuz'), installImg: join(src, 'install.img'), syslinuxDir: src, grubNetImage: join(src, 'grubx64.efi') };
});

test(`${N} hosts: a pxelinux file, a GRUB branch and a valid answer file each, every answer file validated once`, async () => {
  const parsed = parseInventory(inventoryText(N), 'hosts.yaml');
  assert.equal(parsed.errors, []);
  const plan = inventoryNetboot(parsed.inventory!.hosts, BASE);
  const checked: string[] = [];
  const t0 = performance.now();
  const tree = await writeNetbootTree({
    menu, id, hosts: plan.hosts, out: join(work, 'pxe'), baseUrl: BASE, sources,
    httpTree: { repoDir: src, answers: plan.answers, checkAnswer: (mac, xml) => { checked.push(mac); plan.checkAnswer(mac, xml); } },
  });
  console.log(`  writeNetbootTree, ${N} hosts: ${Math.round(performance.now() - t0)} ms`);
  assert.is(checked.length, N);
  assert.is(new Set(checked).size, N);
  const out = join(work, 'pxe');
  assert.is(readdirSync(join(out, 'tftp/pxelinux.cfg')).length, N + 1);
  assert.is(readdirSync(join(out, 'http/answers')).length, N);
  assert.is(tree.files.length, PXELINUX_FILES.length + 4 + (N + 2) + (PXELINUX_FILES.length + 4 + N) + 2);
  // sorted, and sizes that match the files
  assert.equal(tree.files.map((f) => f.path), [...tree.files.map((f) => f.path)].sort());
  for (const f of tree.files.filter((_, k) => k % 97 === 0)) assert.is(statSync(join(out, f.path)).size, f.size, f.path);
  const h1 = parsed.inventory!.hosts[1]!;
  const xml = readFileSync(join(out, 'http/answers', `${h1.mac}.xml`), 'utf8');
  assert.is(xml, plan.answers[h1.mac]);
  assert.equal(parseAnswerFile(xml).errors, []);
  assert.match(xml, /<ipaddr>10\.1\.0\.3<\/ipaddr>/);
  assert.ok(readFileSync(join(out, 'tftp/pxelinux.cfg', `01-${h1.mac.replaceAll(':', '-')}`), 'utf8').includes(`answerfile_device=${h1.mac} answerfile=${BASE}/answers/${h1.mac}.xml install`));
  assert.match(readFileSync(join(out, 'tftp/EFI/xenserver/grub.cfg'), 'utf8'), new RegExp(`"\\$net_default_mac" = "${h1.mac}"`));
  assert.is(statSync(join(out, 'tftp/pxelinux.cfg')).mode & 0o777, 0o755);
  assert.is(statSync(join(out, 'tftp/pxelinux.cfg/default')).mode & 0o777, 0o644);
});

test('an answer file the validator refuses stops the tree: the previous tree stays, no scratch directory', async () => {
  const parsed = parseInventory(inventoryText(40), 'hosts.yaml');
  const plan = inventoryNetboot(parsed.inventory!.hosts, BASE);
  const victim = parsed.inventory!.hosts[17]!;
  // what a generator bug would hand over: an installation without its primary disk
  const answers = { ...plan.answers, [victim.mac]: plan.answers[victim.mac]!.replace(/\s*<primary-disk[^\n]*<\/primary-disk>/, '') };
  const before = readFileSync(join(work, 'pxe/tftp/pxelinux.cfg/default'), 'utf8');
  try {
    await writeNetbootTree({ menu, id, hosts: plan.hosts, out: join(work, 'pxe'), baseUrl: BASE, sources, httpTree: { repoDir: src, answers, checkAnswer: plan.checkAnswer } });
    assert.unreachable('an invalid answer file must fail');
  } catch (err) {
    assert.match((err as Error).message, new RegExp(`answer file generated for ${victim.hostname.replaceAll('.', '\\.')} \\(${victim.mac}\\) is not valid`));
  }
  assert.is(readFileSync(join(work, 'pxe/tftp/pxelinux.cfg/default'), 'utf8'), before);
  assert.is(readdirSync(join(work, 'pxe/http/answers')).length, N, 'the earlier tree is whole');
  assert.equal(readdirSync(work).filter((n) => n.includes('.tmp-')), []);
});

test.run();
