// xsforge pxe on the example inventory and the default recipe (stages cached):
// per-MAC pxelinux files and GRUB branches carry the host's arguments, a VGA host
// starts from the no-serial entry, the HTTP tree is an install repository with
// one valid answer file per host; a bad inventory writes nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../cli/shared.ts';
import { validateAnswerFile } from '../../answerfiles/parse.ts';
import { xsforge } from '../lib/build.ts';

const work = mkdtempSync(join(tmpdir(), 'xsf-pxecmd-'));
const out = join(work, 'pxe');
const HOSTS = join(REPO_ROOT, 'examples/hosts.yaml');
test.after(() => rmSync(work, { recursive: true, force: true }));

test('a bad inventory fails with its line and writes nothing', async () => {
  const bad = join(work, 'bad.yaml');
  writeFileSync(bad, 'hosts:\n  - mac: 52:54:00:00:00:01\n    hostname: a\n  - mac: 52-54-00-00-00-01\n    hostname: b\n');
  const r = await xsforge(['pxe', '--inventory', bad, '--out', out, '--base-url', 'http://10.0.2.2:8080']);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /bad\.yaml:4:\d+: .*52:54:00:00:00:01/);
  assert.not.ok(existsSync(out), 'no output tree');
});

test('the example inventory: per-host boot files, the default menu, answer files and the repository', async () => {
  const r = await xsforge(['pxe', '--inventory', HOSTS, '--out', out, '--base-url', 'http://10.0.2.2:8080/', '--json']);
  assert.is(r.code, 0, r.stderr.slice(-2000));
  const result = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.type === 'result');
  assert.is(result.hosts, 3);
  const tftp = join(out, 'tftp');
  const host2 = readFileSync(join(tftp, 'pxelinux.cfg/01-52-54-00-12-34-02'), 'utf8');
  assert.match(host2, /APPEND xenserver\/xen\.gz .*com1=115200,8n1 console=com1,vga --- xenserver\/vmlinuz .*answerfile_device=eth1 answerfile=http:\/\/10\.0\.2\.2:8080\/answers\/52:54:00:12:34:02\.xml install --- xenserver\/install\.img/);
  const host3 = readFileSync(join(tftp, 'pxelinux.cfg/01-52-54-00-12-34-03'), 'utf8');
  assert.match(host3, /xen\.gz [^\n]*console=vga --- /, 'the VGA host starts from no-serial');
  assert.not.match(host3, /com1=/);
  assert.match(host3, /device_mapper_multipath=enabled/);
  assert.match(readFileSync(join(tftp, 'pxelinux.cfg/default'), 'utf8'), /LABEL install/);
  const grub = readFileSync(join(tftp, 'EFI/xenserver/grub.cfg'), 'utf8');
  assert.match(grub, /\$net_default_mac/);
  assert.match(grub, /52:54:00:12:34:01/);
  for (const f of ['pxelinux.0', 'ldlinux.c32', 'mboot.c32', 'EFI/xenserver/grubx64.efi', 'xenserver/xen.gz', 'xenserver/vmlinuz', 'xenserver/install.img']) {
    assert.ok(existsSync(join(tftp, f)), f);
  }
  const http = join(out, 'http');
  for (const f of ['.treeinfo', 'repodata/repomd.xml', 'dom0/root.tar.zst', 'dom0/root.json']) assert.ok(existsSync(join(http, f)), f);
  for (const mac of ['52:54:00:12:34:01', '52:54:00:12:34:02', '52:54:00:12:34:03']) {
    const xml = readFileSync(join(http, 'answers', `${mac}.xml`), 'utf8');
    assert.is(validateAnswerFile(xml).valid, true, mac);
    assert.match(xml, /<source type="url">http:\/\/10\.0\.2\.2:8080<\/source>/);
  }
  assert.match(readFileSync(join(out, 'dhcp/dnsmasq.conf.example'), 'utf8'), /pxelinux\.0/);
});

test.run();
