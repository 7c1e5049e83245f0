// Hostile input, refused cleanly or passed through as plain data:
// - XML entity expansion ("billion laughs") and external entities, on every XML
//   reader the product has (answer files, update.xml, comps, repomd.xml, primary.xml);
// - shell metacharacters in recipe, inventory and update strings reach the tools
//   (rpmbuild, createrepo_c, xorriso, gpg through the real CLI) as plain data: a
//   marker file is never created, the text appears verbatim or is refused by name;
// - paths with "..", absolute paths and symlinks leading out of their tree are
//   refused (update spec rpm files and package sources, Xen source trees);
// - plaintext passwords, private keys and passphrases appear in no output, log or
//   cache file (inventory answers and a signed update, both built by the CLI with
//   XSFORGE_CACHE in a temp directory).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XsforgeError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { parseAnswerFile } from '../../answerfiles/parse.ts';
import { generateAnswerFile, AnswerFileGenerateError } from '../../answerfiles/generate.ts';
import type { FreshInstallConfig } from '../../answerfiles/model.ts';
import { parseInventory } from '../../inventory/load.ts';
import { checkUpdateXml, parseUpdateXml } from '../../updates/update-xml.ts';
import { parseUpdateSpec } from '../../updates/load.ts';
import { parseComps } from '../../repo/comps.ts';
import { parsePrimary, parseRepomd, RepoFormatError } from '../../repo/verify.ts';
import { buildMenu } from '../../media/menu.ts';
import { renderMenu } from '../../media/render.ts';
import { formatTreeinfo, parseTreeinfo, treeinfoGet } from '../../media/treeinfo.ts';
import { loadRecipe } from '../../recipes/load.ts';
import { sourceTreeDigest } from '../../hypervisor/tree.ts';
import { openIsoFile } from '../../media/iso9660.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const work = mkdtempSync(join(tmpdir(), 'xsf-hostile-'));
const MARKER = join(work, 'pwned');
/** Every shell trick at once; any of them run by a shell would create MARKER. */
const SHELLY = `$(touch ${MARKER}) \`touch ${MARKER}\`; touch ${MARKER} | touch ${MARKER} && touch ${MARKER}`;

test.after(async () => {
  await run(['gpgconf', '--kill', 'gpg-agent'], { env: { GNUPGHOME: join(work, 'gnupg') } }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------- XML entities

function billionLaughs(rootName: string, body: string): string {
  const ents = ['<!ENTITY lol0 "lollollollollollollollollollol">'];
  for (let i = 1; i < 10; i++) ents.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
  return `<?xml version="1.0"?>\n<!DOCTYPE ${rootName} [\n${ents.join('\n')}\n]>\n${body.replace('@', '&lol9;')}`;
}
function externalEntity(rootName: string, body: string): string {
  return `<?xml version="1.0"?>\n<!DOCTYPE ${rootName} [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n${body.replace('@', '&xxe;')}`;
}

const XML_READERS: Array<{ what: string; root: string; body: string; refuse: (xml: string) => string }> = [
  {
    what: 'answer file', root: 'installation',
    body: '<installation><primary-disk>sda</primary-disk><hostname>@</hostname><admin-interface name="eth0" proto="dhcp"/><source type="local"/></installation>',
    refuse: (xml) => { const r = parseAnswerFile(xml); assert.is(r.config, undefined); return r.errors.map((e) => `${e.message} ${e.detail}`).join('\n'); },
  },
  {
    what: 'update.xml', root: 'update',
    body: '<update name-label="a" uuid="3f6e4c2a-8d1b-5e7f-9a0b-1c2d3e4f5a6b" version="1"><name-description>@</name-description></update>',
    refuse: (xml) => { assert.throws(() => parseUpdateXml(xml)); return checkUpdateXml(xml).problems.join('\n'); },
  },
  ...([['comps', 'comps', '<comps><group><id>@</id></group></comps>', parseComps],
    ['repomd.xml', 'repomd', '<repomd><revision>@</revision></repomd>', parseRepomd],
    ['primary.xml', 'metadata', '<metadata packages="1"><package><name>@</name><location href="a.rpm"/><checksum type="sha256">ab</checksum></package></metadata>', parsePrimary]] as const)
    .map(([what, rootName, body, parse]) => ({
      what, root: rootName, body,
      refuse: (xml: string) => {
        try { parse(xml); } catch (err) { assert.instance(err, XsforgeError); return (err as Error).message; }
        assert.unreachable(`${what}: accepted`);
        return '';
      },
    })),
];

for (const reader of XML_READERS) {
  test(`${reader.what}: entity expansion and external entities are refused, quickly, with what is wrong`, () => {
    for (const xml of [billionLaughs(reader.root, reader.body), externalEntity(reader.root, reader.body)]) {
      const t0 = Date.now();
      const message = reader.refuse(xml);
      assert.ok(Date.now() - t0 < 500, `${reader.what} took ${Date.now() - t0} ms`);
      assert.match(message, /entit/i, `${reader.what}: ${message}`);
      assert.not.match(message, /root:x:0:0/);
    }
  });
}

test('repomd.xml: the refusal is a RepoFormatError, so the installer reports a damaged source', () => {
  assert.throws(() => parseRepomd(externalEntity('repomd', '<repomd><revision>@</revision></repomd>')), (e: unknown) => e instanceof RepoFormatError);
});

// ---------------------------------------------------------------- shell metacharacters

test('answer file: a hostname full of shell syntax is written and read back verbatim', () => {
  const hostname = `h${SHELLY}`;
  const config: FreshInstallConfig = {
    kind: 'install', mode: 'fresh', primaryDisk: '/dev/sda', guestStorage: true, srAtEnd: true, preserveFirstPartition: 'if-utility',
    guestDisks: [], srType: 'lvm', initialPartitions: [], adminInterface: { name: 'eth0', proto: 'dhcp', protov6: 'none' },
    nameServers: [], timezone: 'Etc/UTC', ntpServers: [], services: {}, sources: [{ type: 'local', address: '' }],
    bootloader: { location: 'mbr', writeBootEntry: true }, driverSources: [], scripts: [], fcoeInterfaces: [], uiConfirmationPrompt: false,
    hostname,
  };
  const xml = generateAnswerFile(config);
  assert.is((parseAnswerFile(xml).config as FreshInstallConfig).hostname, hostname);
  // a newline cannot survive the installer's whitespace stripping in the middle... it is kept; at the ends it is refused
  assert.throws(() => generateAnswerFile({ ...config, hostname: `${hostname}\n` }), (e: unknown) => e instanceof AnswerFileGenerateError);
  assert.not.ok(existsSync(MARKER));
});

test('inventory: a hostname with shell syntax or a newline is refused by name, before any answer file is written', () => {
  for (const bad of [`a$(touch ${MARKER})`, 'a`id`', 'a;b', 'a|b', 'a\nb']) {
    const text = `hosts:\n  - mac: 52:54:00:12:34:01\n    hostname: ${JSON.stringify(bad)}\n    primary_disk: sda\n    management: {mode: dhcp}\n`;
    const r = parseInventory(text, 'hosts.yaml');
    assert.is(r.inventory, undefined, bad);
    const msg = r.errors.map((e) => `${e.path}: ${e.message}`).join('\n');
    assert.match(msg, /hostname/, msg);
  }
  assert.not.ok(existsSync(MARKER));
});

test('recipe: a brand with quotes and shell syntax is verbatim in .treeinfo and both boot menus, and cannot end a GRUB title', () => {
  const dir = join(work, 'recipe');
  mkdirSync(dir);
  for (const f of readdirSync(join(root, 'recipes'))) symlinkSync(join(root, 'recipes', f), join(dir, f));
  const brand = `X'; reboot; echo '${SHELLY}`;
  writeFileSync(join(dir, 'hostile.yaml'), `extends: xenserver-7.1.2.yaml\nname: hostile\nproduct:\n  brand: ${JSON.stringify(brand)}\n  platform:\n    name: ${JSON.stringify(`P ${SHELLY}`)}\n    version: 2.2.0\n`);
  const r = loadRecipe(join(dir, 'hostile.yaml'));
  assert.is(r.product.brand, brand);
  const paths = { xen: '/boot/xen.gz', kernel: '/boot/vmlinuz', initrd: '/install.img' };
  const id = { brand, version: r.product.version, build: r.product.build_number };
  const menu = buildMenu(r);
  const grub = renderMenu('grub.cfg', menu, paths, id);
  const iso = renderMenu('isolinux.cfg', menu, paths, id);
  assert.ok(iso.includes(`MENU LABEL Install ${brand}\n`));
  // each GRUB title is one single-quoted word: a quote inside is closed, escaped and reopened
  const title = `'Install ${brand.replace(/'/g, `'\\''`)}'`;
  assert.ok(grub.includes(`menuentry ${title} --id install {`), grub.split('\n').find((l) => l.includes('--id install')));
  for (const line of grub.split('\n').filter((l) => l.startsWith('menuentry '))) {
    const m = /^menuentry ((?:'[^']*'|\\')+) --id [a-z0-9-]+ \{$/.exec(line);
    assert.ok(m, `not one quoted word: ${line}`);
  }
  const treeinfo = formatTreeinfo([{ name: 'branding', entries: [['name', brand]] }, { name: 'platform', entries: [['name', r.product.platform.name]] }] as never);
  const back = parseTreeinfo(treeinfo);
  assert.is(treeinfoGet(back, 'branding', 'name'), brand);
  assert.is(treeinfoGet(back, 'platform', 'name'), `P ${SHELLY}`);
  assert.not.ok(existsSync(MARKER));
});

// ---------------------------------------------------------------- paths leaving their tree

function rpmModel(files: string): string {
  return `kind: supplemental-pack\nname_label: hostile-pack\nversion: "1.0"\ndescription: x\nrpms:\n  packages:\n    - name: hostile-pack\n      version: "1"\n      release: "1"\n      summary: s\n      license: MIT\n      arch: noarch\n      description: d\n      files:\n${files}`;
}

test('update spec: rpm files and package sources with "..", absolute paths, or symlinks out of the spec directory are refused', async () => {
  const outside = join(work, 'outside');
  const specDir = join(work, 'spec');
  mkdirSync(outside);
  mkdirSync(join(specDir, 'rpms'), { recursive: true });
  writeFileSync(join(outside, 'secret.txt'), 'host secret\n');
  const [rpm] = await (await import('../lib/rpm-fixtures.ts')).makeTestRpms(outside, [{ name: 'outside-pkg', version: '1' }]);
  symlinkSync(rpm!, join(specDir, 'rpms', 'linked.rpm'));
  symlinkSync(join(outside, 'secret.txt'), join(specDir, 'linked.txt'));
  writeFileSync(join(specDir, 'inside.txt'), 'fine\n');
  const file = join(specDir, 'pack.yaml');
  const errorsOf = (text: string) => parseUpdateSpec(text, { file }).errors.map((e) => `${e.path}: ${e.message}`).join('\n');
  const head = 'kind: supplemental-pack\nname_label: hostile-pack\nversion: "1.0"\ndescription: x\nrpms:\n  files:\n';
  assert.match(errorsOf(`${head}    - ../outside/x.rpm\n`), /outside the spec's directory/);
  assert.match(errorsOf(`${head}    - ${rpm}\n`), /rpms\.files/);
  assert.match(errorsOf(`${head}    - rpms/linked.rpm\n`), /symlink to .*outside the spec's directory/);
  const from = (repo: string) => rpmModel(`        - from: {repo: ${JSON.stringify(repo)}}\n          to: /etc/x\n`);
  assert.match(errorsOf(from('../outside/secret.txt')), /outside the recipe's directory/);
  // absolute: refused by the schema (repo paths do not start with "/"), though only as "not one of the forms"
  assert.match(errorsOf(from(join(outside, 'secret.txt'))), /files\[0\]\.from: must be one of \{stage, path\}, \{repo\} or \{text\}/);
  assert.match(errorsOf(from('linked.txt')), /symlink to .*outside the spec's directory/);
  assert.is(errorsOf(from('inside.txt')), '', 'a file inside the spec directory is fine');
  // destinations: "..", relative
  assert.match(errorsOf(rpmModel(`        - from: {text: x}\n          to: /etc/../../root/x\n`)), /"\.\." component|absolute path/);
  assert.match(errorsOf(rpmModel(`        - from: {text: x}\n          to: etc/x\n`)), /\/etc|absolute/);
});

test('Xen source tree: a symlink to an absolute path or above the tree is refused; one inside is fine', async () => {
  const tree = join(work, 'xen');
  mkdirSync(join(tree, 'xen/common'), { recursive: true });
  writeFileSync(join(tree, 'xen/Makefile'), 'all:\n');
  symlinkSync('../Makefile', join(tree, 'xen/common/Makefile.link'));
  assert.match(await sourceTreeDigest(tree), /^[0-9a-f]{64}$/);
  for (const target of ['/etc/shadow', '../../../etc/shadow', '../../..']) {
    symlinkSync(target, join(tree, 'xen/common/evil'));
    try {
      await sourceTreeDigest(tree);
      assert.unreachable(`${target} accepted`);
    } catch (err) {
      assert.instance(err, XsforgeError);
      assert.match((err as Error).message, /symlink xen\/common\/evil -> .* points outside the tree/);
    } finally {
      rmSync(join(tree, 'xen/common/evil'));
    }
  }
});

// ---------------------------------------------------------------- secrets in outputs

/** Every regular file under dir (symlinks not followed). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) out.push(...filesUnder(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

/** The first file (or log) holding one of the needles, as "file: needle". */
function findSecrets(haystacks: Array<[string, Buffer]>, needles: Buffer[]): string | undefined {
  for (const [name, bytes] of haystacks) {
    for (const n of needles) if (bytes.includes(n)) return `${name}: ${JSON.stringify(n.toString('latin1').slice(0, 40))}`;
  }
  return undefined;
}

/** Runs the CLI; `log` is everything it printed (stdout and stderr). */
async function xsforge(args: string[], env: Record<string, string>): Promise<{ stdout: string; log: string }> {
  let log = '';
  const r = await run([process.execPath, '--import', 'tsx', join(root, 'bin/xsforge'), ...args], {
    cwd: root, env: { ...env, SOURCE_DATE_EPOCH: '1644364800' }, onOutput: (c) => { log += c; },
  });
  return { stdout: r.stdout, log };
}

test('inventory answers: a plaintext root password is in no answer file, log or cache file', async () => {
  const dir = join(work, 'inv');
  const cache = join(dir, 'cache');
  mkdirSync(cache, { recursive: true });
  const plaintext = 'Plain-Text-Root-Pw-7f3a9c';
  writeFileSync(join(dir, 'hosts.yaml'), `defaults:\n  primary_disk: sda\n  management: {mode: dhcp}\n  root_password: {plaintext: ${plaintext}}\nhosts:\n  - {mac: "52:54:00:12:34:01", hostname: a.example}\n  - {mac: "52:54:00:12:34:02", hostname: b.example}\n`);
  const r = await xsforge(['inventory', 'answers', join(dir, 'hosts.yaml'), '--out', join(dir, 'out'), '--repo-url', 'http://192.0.2.5/xs/'], { XSFORGE_CACHE: cache });
  const outputs = filesUnder(join(dir, 'out'));
  assert.is(outputs.length, 2, r.stdout);
  for (const f of outputs) assert.match(readFileSync(f, 'utf8'), /<root-password type="hash">\$6\$/);
  const haystacks: Array<[string, Buffer]> = [
    ...[...outputs, ...filesUnder(cache)].map((f): [string, Buffer] => [f, readFileSync(f)]),
    ['CLI output', Buffer.from(r.log)],
  ];
  assert.is(findSecrets(haystacks, [Buffer.from(plaintext)]), undefined);
});

test('signed update: no private key material, armour line or passphrase in the ISO, its tree, the cache or the logs', async () => {
  const gnupg = join(work, 'gnupg');
  mkdirSync(gnupg, { mode: 0o700 });
  const passphrase = 'Passphrase-Of-The-Throwaway-Key-91c2';
  const passFile = join(work, 'passphrase');
  writeFileSync(passFile, `${passphrase}\n`, { mode: 0o600 });
  const genv = { GNUPGHOME: gnupg };
  await run(['gpg', '--batch', '--pinentry-mode', 'loopback', '--passphrase', passphrase, '--quick-gen-key', 'hostile test <hostile@xsforge.invalid>', 'rsa2048', 'sign', 'never'], { env: genv });
  const secretArmour = (await run(['gpg', '--batch', '--pinentry-mode', 'loopback', '--passphrase', passphrase, '--armor', '--export-secret-keys', 'hostile@xsforge.invalid'], { env: genv })).stdout;
  const publicBytes = Buffer.from((await run(['gpg', '--batch', '--armor', '--export', 'hostile@xsforge.invalid'], { env: genv })).stdout
    .split('\n').filter((l) => /^[A-Za-z0-9+/=]+$/.test(l) && !l.startsWith('=')).join(''), 'base64');
  assert.match(secretArmour, /BEGIN PGP PRIVATE KEY BLOCK/);
  // Needles: 24-byte windows of the secret export that the public key does not
  // contain (the public key is rightly on the media), raw and as the base64 a
  // dump of the armour would hold.
  const b64Lines = secretArmour.split('\n').filter((l) => /^[A-Za-z0-9+/]{64}$/.test(l));
  const needles: Buffer[] = [Buffer.from('PRIVATE KEY'), Buffer.from(passphrase)];
  for (const line of b64Lines) {
    for (let i = 0; i + 32 <= line.length; i += 32) {
      const chunk = line.slice(i, i + 32);
      const raw = Buffer.from(chunk, 'base64');
      if (!publicBytes.includes(raw)) needles.push(Buffer.from(chunk), raw);
    }
  }
  assert.ok(needles.length > 40, `${needles.length} needles`);

  const dir = join(work, 'update');
  const cache = join(dir, 'cache');
  mkdirSync(cache, { recursive: true });
  const description = `Pack ${SHELLY}\nsecond line with 'quotes' and "double" and $HOME`;
  writeFileSync(join(dir, 'pack.yaml'), `kind: supplemental-pack\nname_label: hostile-pack\nversion: "1.0"\ndescription: ${JSON.stringify(description)}\nkey: XS-7\nrpms:\n  packages:\n    - name: hostile-pack\n      version: "1"\n      release: "1"\n      summary: ${JSON.stringify(`summary ${SHELLY}`)}\n      license: MIT\n      arch: noarch\n      description: ${JSON.stringify(`d ${SHELLY}`)}\n      files:\n        - from: {text: ${JSON.stringify(`echo ${SHELLY}\n`)}}\n          to: /etc/hostile-pack.conf\n`);
  const r = await xsforge(['update', 'build', join(dir, 'pack.yaml'), '--out', join(dir, 'out'), '--sign-key', 'hostile@xsforge.invalid', '--gnupg-home', gnupg, '--passphrase-file', passFile], { XSFORGE_CACHE: cache, GNUPGHOME: gnupg });
  const outputs = filesUnder(join(dir, 'out'));
  const iso = outputs.find((f) => f.endsWith('.iso'))!;
  assert.ok(iso, r.stdout);
  // the shell syntax reached rpmbuild, createrepo_c and xorriso as data: no marker, text verbatim
  assert.not.ok(existsSync(MARKER), 'a tool ran the text through a shell');
  const updateXml = readFileSync(join(dir, 'out/hostile-pack/update.xml'), 'utf8');
  assert.is(parseUpdateXml(updateXml).description, description);
  assert.ok(outputs.some((f) => f.endsWith('update.xml.asc')), 'update.xml is signed');
  // the ISO's own files, as the reader sees them, are searched too (not only its raw bytes)
  const img = await openIsoFile(iso);
  const isoFiles: Array<[string, Buffer]> = [];
  for (const e of await img.listFiles()) if (e.type === 'file') isoFiles.push([`${iso}:${e.path}`, await img.readFile(e.path)]);
  await img.close();
  assert.ok(isoFiles.some(([n]) => n.endsWith('RPM-GPG-KEY-XS-7') || n.includes('RPM-GPG-KEY')), 'the public key is on the ISO');
  const haystacks: Array<[string, Buffer]> = [
    ...[...outputs, ...filesUnder(cache)].map((f): [string, Buffer] => [f, readFileSync(f)]),
    ...isoFiles, ['CLI output', Buffer.from(r.log)],
  ];
  assert.is(findSecrets(haystacks, needles), undefined);
  // the search can fail: the secret export itself is found
  assert.ok(findSecrets([['export', Buffer.from(secretArmour)]], needles));
});

test.run();
