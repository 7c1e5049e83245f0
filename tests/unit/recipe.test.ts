import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRecipe, RecipeError, RECIPE_SCHEMA, closest, type RecipeIssue } from '../../recipes/load.ts';
import { XsforgeError } from '../../core/errors.ts';

const recipesDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../recipes');

// A complete recipe with known line numbers; tests edit single lines of it.
const BASE = `name: base
source_date_epoch: 1533081600
product:
  brand: XenServer
  version: 7.1.2
  build_number: "137272c"
  platform: { name: XCP, version: 2.2.0 }
  volume_id: XS712
  eula: EULA.txt
debian:
  mirror: http://deb.debian.org/debian
  suite: bookworm
  components: [main]
hypervisor:
  source: debian-package
  package: xen-hypervisor-4.17-amd64
kernel:
  package: linux-image-amd64
installer:
  packages: [nodejs, udev]
  compression: zstd
boot:
  timeout: 50
  default: install
  serial:
    port: com1
    baud: 115200
  xen:
    dom0_mem: 1024M,max:1024M
    dom0_max_vcpus: 1-2
`;

let dir = '';
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'xsforge-recipe-'));
  writeFileSync(join(dir, 'EULA.txt'), 'licence\n');
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = join(dir, name);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
}

/** BASE with exact-text replacements; each must match once. */
function variant(...edits: [string, string][]): string {
  let text = BASE;
  for (const [from, to] of edits) {
    assert.is(text.split(from).length, 2, `edit target ${JSON.stringify(from)} must occur once`);
    text = text.replace(from, to);
  }
  return text;
}

function errorsOf(file: string): { err: RecipeError; issues: RecipeIssue[] } {
  try {
    loadRecipe(file);
  } catch (e) {
    assert.instance(e, RecipeError);
    return { err: e as RecipeError, issues: (e as RecipeError).errors };
  }
  assert.unreachable('recipe should not have loaded');
  throw new Error('unreachable');
}

test('the shipped recipes load', () => {
  const xs = loadRecipe(join(recipesDir, 'xenserver-7.1.2.yaml'));
  assert.is(xs.name, 'xenserver-7.1.2');
  assert.is(xs.product.version, '7.1.2');
  assert.is(xs.product.platform.version, '2.2.0');
  assert.is(xs.product.volume_id, 'XS712');
  assert.is(xs.source_date_epoch, 1533081600);
  assert.is(xs.boot.xen.dom0_mem, '1024M,max:1024M');
  assert.is(xs.boot.serial.baud, 115200);
  assert.is(xs.product.eula, join(recipesDir, 'EULA.txt'));
  assert.ok(existsSync(xs.product.eula!));
  assert.is(xs.$file, join(recipesDir, 'xenserver-7.1.2.yaml'));
  assert.is(xs.$dir, recipesDir);

  const mini = loadRecipe(join(recipesDir, 'test-mini.yaml'));
  assert.is(mini.name, 'test-mini');
  assert.is(mini.product.volume_id, 'XS712_TEST');
  assert.equal(mini.installer.packages, ['nodejs', 'udev', 'kmod', 'util-linux', 'iproute2', 'rpm']);
  assert.equal(mini.installer.modules, xs.installer.modules); // inherited
  assert.is(mini.hypervisor.package, xs.hypervisor.package);
  assert.is((mini as Record<string, unknown>).extends, undefined);
  assert.equal(mini.$files, [join(recipesDir, 'test-mini.yaml'), join(recipesDir, 'xenserver-7.1.2.yaml')]);
});

test('BASE itself is valid (so the variants below fail only for their edit)', () => {
  const r = loadRecipe(write('r.yaml', BASE));
  assert.is(r.name, 'base');
  assert.equal(r.installer.packages, ['nodejs', 'udev']);
});

test('a misspelt key: line, column and "did you mean", allowed keys listed, no echo as a missing field', () => {
  const file = write('r.yaml', variant(['  timeout: 50', '  tiemout: 50']));
  const { issues } = errorsOf(file);
  assert.is(issues.length, 1);
  assert.equal({ ...issues[0], message: '' }, { file, line: 23, column: 3, path: 'boot.tiemout', message: '' });
  assert.match(issues[0].message, "unknown key 'tiemout' in boot; did you mean 'timeout'?");
  assert.match(issues[0].message, 'allowed keys: timeout, default, serial, xen, dom0, entries');
});

test('an unknown key nothing resembles gets no suggestion', () => {
  const { issues } = errorsOf(write('r.yaml', variant(['kernel:\n', 'kernel:\n  flavour: rt\n'])));
  assert.is(issues.length, 1);
  assert.is(issues[0].line, 18);
  assert.not.match(issues[0].message, 'did you mean');
});

test('a wrong type names line and field, expected and got, once', () => {
  const file = write('r.yaml', variant(['baud: 115200', 'baud: fast']));
  const { issues } = errorsOf(file);
  assert.is(issues.length, 1); // not also "must be one of"
  assert.is(issues[0].line, 27);
  assert.is(issues[0].column, 11);
  assert.is(issues[0].path, 'boot.serial.baud');
  assert.is(issues[0].message, 'expected an integer, got the string "fast"');
});

test('a number where a string belongs says how to quote it', () => {
  const { issues } = errorsOf(write('r.yaml', variant(['build_number: "137272c"', 'build_number: 137272'])));
  assert.is(issues[0].line, 6);
  assert.is(issues[0].message, 'expected a string, got the integer 137272; put it in quotes: "137272"');
});

test('a missing required field is named, at the line of its object', () => {
  const { issues } = errorsOf(write('r.yaml', variant(['  version: 7.1.2\n', ''])));
  assert.is(issues.length, 1);
  assert.is(issues[0].path, 'product.version');
  assert.is(issues[0].line, 3);
  assert.match(issues[0].message, "missing required field 'version' in product");
});

test('an enum error lists the allowed values, in file:line:col: path: message form', () => {
  const file = write('r.yaml', variant(['baud: 115200', 'baud: 11520']));
  const { err } = errorsOf(file);
  assert.is(err.message, `${file}:27:11: boot.serial.baud: must be one of 9600, 19200, 38400, 57600, 115200 (got 11520)`);
});

test('a pattern error says the format in words', () => {
  const { issues } = errorsOf(write('r.yaml', variant(['volume_id: XS712', 'volume_id: xs712'])));
  assert.is(issues[0].line, 8);
  assert.is(issues[0].message, 'must be 1 to 32 characters from A-Z, 0-9, "_" and "-" (uppercase, e.g. XS712) (got "xs712")');
});

test('boot.xen.extra words go on the installed host\'s grub.cfg too: GRUB\'s special characters are refused', () => {
  const ok = write('ok.yaml', variant(['    dom0_max_vcpus: 1-2\n', '    dom0_max_vcpus: 1-2\n    extra: [loglvl=all, "com1=115200,8n1,0x3f8,4"]\n']));
  assert.equal(loadRecipe(ok).boot.xen.extra, ['loglvl=all', 'com1=115200,8n1,0x3f8,4']);
  const { issues } = errorsOf(write('r.yaml', variant(['    dom0_max_vcpus: 1-2\n', '    dom0_max_vcpus: 1-2\n    extra: [loglvl=all, "a;reboot"]\n'])));
  assert.equal(issues.map((i) => [i.line, i.path]), [[31, 'boot.xen.extra[1]']]);
  assert.match(issues[0]!.message, /installed host's grub\.cfg.*\(got "a;reboot"\)/);
});

test('a compiled Xen\'s CONFIG_DOM0_MEM must agree with boot.xen.dom0_mem: line, both fields and values', () => {
  const source = (value: string) => ['hypervisor:\n  source: debian-package\n  package: xen-hypervisor-4.17-amd64\n', `hypervisor:\n  source: debian-source\n  package: xen\n  config:\n    CONFIG_NR_CPUS: 512\n${value}`] as [string, string];
  const file = write('r.yaml', variant(source('    CONFIG_DOM0_MEM: 2048M\n')));
  const { err, issues } = errorsOf(file);
  assert.equal(issues.map((i) => [i.line, i.path]), [[19, 'hypervisor.config.CONFIG_DOM0_MEM']]);
  assert.is(err.message, `${file}:19:22: hypervisor.config.CONFIG_DOM0_MEM: '2048M' disagrees with boot.xen.dom0_mem '1024M,max:1024M' (${file}:32); give both the same value, or leave CONFIG_DOM0_MEM out`);
  // equal strings, and no CONFIG_DOM0_MEM at all, load
  assert.is(loadRecipe(write('same.yaml', variant(source('    CONFIG_DOM0_MEM: 1024M,max:1024M\n')))).hypervisor.config?.CONFIG_DOM0_MEM, '1024M,max:1024M');
  assert.is(loadRecipe(write('none.yaml', variant(source('')))).hypervisor.config?.CONFIG_DOM0_MEM, undefined);
  // the value a recipe extends is checked against the merged boot section, at the file that sets it
  write('parent.yaml', variant(source('    CONFIG_DOM0_MEM: 1024M,max:1024M\n')));
  const child = write('child.yaml', 'extends: parent.yaml\nname: child\nboot:\n  xen:\n    dom0_mem: 4G\n');
  assert.equal(errorsOf(child).issues.map((i) => [i.file.endsWith('parent.yaml'), i.line, i.message.split(' (')[0]]), [[true, 19, "'1024M,max:1024M' disagrees with boot.xen.dom0_mem '4G'"]]);
  assert.match(errorsOf(child).err.message, /child\.yaml:5\)/);
});

test('all errors are collected, sorted by line, one per line of the message', () => {
  const file = write('r.yaml', variant(
    ['    baud: 115200', '    baud: 300'],
    ['name: base', 'name: Base'],
    ['  timeout: 50', '  timeout: 900'],
    ['packages: [nodejs, udev]', 'packages: [nodejs, udev, nodejs]'],
  ));
  const { err, issues } = errorsOf(file);
  assert.instance(err, XsforgeError);
  assert.equal(issues.map((i) => [i.line, i.path]), [
    [1, 'name'], [20, 'installer.packages[2]'], [23, 'boot.timeout'], [27, 'boot.serial.baud'],
  ]);
  assert.is(issues[2].message, 'must be at most 600 (got 900)');
  assert.is(issues[1].message, '"nodejs" is listed twice (items 0 and 2)');
  assert.is(err.message.split('\n').length, 4);
});

test('YAML syntax errors have a line and column', () => {
  const file = write('r.yaml', variant(['  suite: bookworm\n', '  suite: [bookworm\n']));
  const { issues } = errorsOf(file);
  assert.ok(issues.length >= 1);
  assert.is(issues[0].file, file);
  assert.is(issues[0].line, 13);
  assert.match(issues[0].message, /^YAML syntax error: /);
});

test('a duplicate key is a syntax error at its line', () => {
  const { issues } = errorsOf(write('r.yaml', variant(['kernel:\n', 'kernel:\n  package: a\n'])));
  assert.is(issues[0].line, 19);
  assert.match(issues[0].message, 'YAML syntax error');
});

test('extends: deep merge, this file wins, arrays replaced, paths relative to each file', () => {
  write('base/EULA.txt', 'base licence\n');
  write('base/base.yaml', BASE);
  const child = write('child.yaml', [
    'extends: base/base.yaml',
    'name: child',
    'product: { volume_id: CHILD }',
    'installer: { packages: [kmod] }',
    'boot: { serial: { baud: 9600 } }',
    '',
  ].join('\n'));
  const r = loadRecipe(child);
  assert.is(r.name, 'child');
  assert.is(r.product.volume_id, 'CHILD');
  assert.is(r.product.brand, 'XenServer');
  assert.equal(r.installer.packages, ['kmod']);
  assert.is(r.installer.compression, 'zstd');
  assert.equal(r.boot.serial, { port: 'com1', baud: 9600 });
  assert.is(r.product.eula, join(dir, 'base', 'EULA.txt'));
  assert.equal(r.$files, [child, join(dir, 'base', 'base.yaml')]);
});

test('extends: each file is checked on its own, required fields on the merged result', () => {
  const base = write('base.yaml', variant(['  version: 7.1.2\n', ''], ['port: com1', 'port: com5']));
  const child = write('child.yaml', 'extends: base.yaml\nname: child\nboot:\n  tiemout: 5\n');
  const { issues } = errorsOf(child);
  assert.equal(issues.map((i) => [i.file, i.line, i.path]), [
    [child, 4, 'boot.tiemout'],
    [base, 3, 'product.version'],
    [base, 25, 'boot.serial.port'], // line 26 of BASE, one line removed above,
  ]);
  // a base with a bad value stays an error even when the child overrides it...
  write('child.yaml', 'extends: base.yaml\nname: child\nproduct: { version: 7.1.3 }\nboot: { serial: { port: com2 } }\n');
  assert.equal(errorsOf(child).issues.map((i) => [i.file, i.line]), [[base, 25]]);
  // ...but a field a base leaves out may come from the child
  write('base.yaml', variant(['  version: 7.1.2\n', '']));
  assert.is(loadRecipe(child).product.version, '7.1.3');
});

test('extends: a cycle is reported at the extends line that closes it', () => {
  const a = write('a.yaml', 'name: a\nextends: b.yaml\n');
  const b = write('b.yaml', '# b\nextends: a.yaml\n');
  const { issues } = errorsOf(a);
  assert.is(issues.length, 1);
  assert.equal({ file: issues[0].file, line: issues[0].line, column: issues[0].column, path: issues[0].path }, { file: b, line: 2, column: 10, path: 'extends' });
  assert.is(issues[0].message, `cycle in extends: ${a} → ${b} → ${a}`);
  const self = write('self.yaml', 'extends: self.yaml\n');
  assert.match(errorsOf(self).issues[0].message, 'cycle in extends');
});

test('extends: a missing file is reported at its line', () => {
  const { issues } = errorsOf(write('r.yaml', 'name: r\nextends: nope.yaml\n'));
  assert.is(issues.length, 1);
  assert.is(issues[0].line, 2);
  assert.match(issues[0].message, 'extended recipe not found');
});

test('the EULA must exist, relative to the recipe', () => {
  const { issues } = errorsOf(write('r.yaml', variant(['eula: EULA.txt', 'eula: LICENCE.txt'])));
  assert.is(issues.length, 1);
  assert.equal([issues[0].line, issues[0].path], [9, 'product.eula']);
  assert.match(issues[0].message, 'file not found');
});

test('boot.default must name a built-in label or one of boot.entries', () => {
  const bad = errorsOf(write('r.yaml', variant(['default: install', 'default: instal'])));
  assert.is(bad.issues.length, 1);
  assert.is(bad.issues[0].line, 24);
  assert.match(bad.issues[0].message, "'instal' is not a menu entry; did you mean 'install'?");

  const entries = [
    '  entries:',
    '    - { label: go, title: Go, xen_args: [], dom0_args: [install] }',
    '    - { label: go, title: Again, xen_args: [], dom0_args: [], serial: false }',
    '',
  ].join('\n');
  const { issues } = errorsOf(write('r.yaml', BASE + entries));
  assert.equal(issues.map((i) => [i.line, i.path]), [[24, 'boot.default'], [33, 'boot.entries[1].label']]);
  assert.match(issues[0].message, 'labels in boot.entries: go, go');

  const ok = loadRecipe(write('r.yaml', variant(['default: install', 'default: go']) + entries.replace('label: go, title: Again', 'label: go-2, title: Again')));
  assert.equal(ok.boot.entries?.map((e) => e.label), ['go', 'go-2']);
  assert.is(ok.boot.entries?.[1].serial, false);
});

test('a missing recipe file is an XsforgeError naming it', () => {
  try {
    loadRecipe(join(dir, 'absent.yaml'));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, XsforgeError);
    assert.match((e as Error).message, 'recipe file not found');
  }
});

test('RECIPE_SCHEMA is plain JSON and closes every object', () => {
  assert.equal(JSON.parse(JSON.stringify(RECIPE_SCHEMA)), RECIPE_SCHEMA);
  let objects = 0;
  const walk = (s: unknown): void => {
    if (Array.isArray(s)) return s.forEach(walk);
    if (!s || typeof s !== 'object') return;
    const o = s as Record<string, unknown>;
    if (o.type === 'object') { objects++; assert.is(o.additionalProperties, false); }
    Object.values(o).forEach(walk);
  };
  walk(RECIPE_SCHEMA);
  assert.ok(objects >= 12, `found ${objects} object schemas`);
});

test('closest suggests near misses only', () => {
  assert.is(closest('tiemout', ['timeout', 'default']), 'timeout');
  assert.is(closest('Timeout', ['timeout']), 'timeout');
  assert.is(closest('flavour', ['package']), undefined);
});

test('an alias without an anchor, and an alias bomb, are YAML errors, not crashes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xsf-recipe-alias-'));
  try {
    const dangling = join(dir, 'dangling.yaml');
    writeFileSync(dangling, 'name: x\ndescription: *nope\n');
    assert.throws(() => loadRecipe(dangling), (e: Error) => /YAML error: Unresolved alias/.test(e.message));
    const bomb = join(dir, 'bomb.yaml');
    const rows = ['a: &a [1,1,1,1,1,1,1,1,1,1]'];
    for (const [k, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd']]) rows.push(`${k}: &${k} [${Array(10).fill(`*${prev}`).join(',')}]`);
    rows.push(`f: [${Array(10).fill('*e').join(',')}]`);
    writeFileSync(bomb, rows.join('\n') + '\n');
    assert.throws(() => loadRecipe(bomb), (e: Error) => /YAML error: Excessive alias count/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
