// The release an install lays down comes from the source's .treeinfo, over
// install.img's brand and platform (installer/runtime/source.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InstallLog } from '../../installer/runtime/log.ts';
import { mediumProductFromTreeinfo, productOfSource, readSourceProduct } from '../../installer/runtime/source.ts';
import { banner } from '../../installer/runtime/report.ts';
import { supportsManagementVlan } from '../../installer/tui/context.ts';

const INSTALLER = { brand: 'XenServer', version: '', build_number: '', platform: { name: 'XCP', version: '2.2.0' } };
const CU_TREEINFO = '[platform]\nname = XCP\nversion = 2.2.0\n[branding]\nname = XenServer\nversion = 7.1.3\n[build]\nnumber = 137272c\n';

test('a CU base-install medium names 7.1.3: the install takes the version and build from it', () => {
  const medium = mediumProductFromTreeinfo(CU_TREEINFO, '/media/.treeinfo');
  assert.equal(medium, { brand: 'XenServer', version: '7.1.3', build_number: '137272c', platform: { name: 'XCP', version: '2.2.0' } });
  assert.equal(productOfSource(INSTALLER, medium, '/media'), { ...INSTALLER, version: '7.1.3', build_number: '137272c' });
});

test('a .treeinfo without [branding] or [build] leaves the installer identity as it is', () => {
  const medium = mediumProductFromTreeinfo('[general]\nfamily = x\n', 'u');
  assert.equal(medium, {});
  assert.equal(productOfSource({ ...INSTALLER, version: '7.1.2' }, medium, 'u').version, '7.1.2');
  assert.equal(productOfSource(INSTALLER, undefined, 'u'), INSTALLER);
});

test('the medium\'s [xsforge-boot] goes with the product; older media name none', () => {
  const text = `${CU_TREEINFO}[xsforge-boot]\ndom0_mem = 4G\ndom0_max_vcpus = 2-8\nserial_port = com2\nserial_baud = 57600\n`;
  const boot = { serial: { port: 'com2', baud: 57600 }, xen: { dom0_mem: '4G', dom0_max_vcpus: '2-8', extra: [] } };
  const medium = mediumProductFromTreeinfo(text, '/media/.treeinfo');
  assert.equal(medium.boot, boot);
  assert.equal(productOfSource(INSTALLER, medium, '/media').boot, boot);
  assert.is(productOfSource(INSTALLER, mediumProductFromTreeinfo(CU_TREEINFO, 'u'), 'u').boot, undefined);
  assert.throws(() => mediumProductFromTreeinfo(text.replace('dom0_mem = 4G', 'dom0_mem = 4 GiB'), '/media/.treeinfo'), /^\/media\/\.treeinfo: \[xsforge-boot\] dom0_mem '4 GiB'/);
});

test('reading a medium: no .treeinfo or one that is not INI is logged and skipped; a bad [xsforge-boot] stops the install', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xsforge-source-'));
  try {
    const logFile = join(dir, 'log');
    const env = { log: new InstallLog({ line: () => undefined }, logFile), workDir: dir, sysRoot: '/sys', devRoot: '/dev', excludeDisks: [], mounted: [] };
    const source = { dir, where: dir };
    assert.is(await readSourceProduct(env, source), undefined);
    writeFileSync(join(dir, '.treeinfo'), 'not ini\n');
    assert.is(await readSourceProduct(env, source), undefined);
    assert.match(readFileSync(logFile, 'utf8'), /\.treeinfo:1: expected "\[section\]"/);
    writeFileSync(join(dir, '.treeinfo'), `${CU_TREEINFO}[xsforge-boot]\ndom0_mem = 4G\n`);
    await readSourceProduct(env, source).then(() => assert.unreachable('a bad [xsforge-boot] is refused'), (e: Error) => assert.match(e.message, /\[xsforge-boot\] dom0_max_vcpus is missing/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('another brand\'s medium is refused with both names', () => {
  const medium = mediumProductFromTreeinfo('[branding]\nname = OtherHV\nversion = 9.0\n', 'http://h/repo/.treeinfo');
  assert.throws(() => productOfSource(INSTALLER, medium, 'http://h/repo'), /holds OtherHV 9\.0, not XenServer: this installer cannot install it/);
});

test('banner without a known release; the VLAN field is offered while the release is unknown', () => {
  assert.is(banner(INSTALLER), 'Welcome to the XenServer installer');
  assert.is(banner({ ...INSTALLER, version: '7.1.3', build_number: 'b1' }), 'Welcome to XenServer 7.1.3 (build b1) installer');
  assert.ok(supportsManagementVlan(''));
  assert.ok(supportsManagementVlan('7.1.3'));
  assert.not.ok(supportsManagementVlan('7.0'));
});

test.run();
