import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { moduleClosure, moduleDependencies, moduleGlob, moduleName, parseModinfo } from '../../installer/kmod.ts';

/** A minimal ELF64 LE file with sections: null, .modinfo, .shstrtab. */
function fakeModule(modinfo: string[]): Buffer {
  const info = Buffer.from(modinfo.map((s) => s + '\0').join(''));
  const shstr = Buffer.from('\0.modinfo\0.shstrtab\0');
  const infoOff = 64;
  const strOff = infoOff + info.length;
  const shoff = Math.ceil((strOff + shstr.length) / 8) * 8;
  const buf = Buffer.alloc(shoff + 3 * 64);
  buf.writeUInt32BE(0x7f454c46, 0);
  buf[4] = 2; // 64-bit
  buf[5] = 1; // little-endian
  buf.writeBigUInt64LE(BigInt(shoff), 0x28);
  buf.writeUInt16LE(64, 0x3a);
  buf.writeUInt16LE(3, 0x3c);
  buf.writeUInt16LE(2, 0x3e);
  info.copy(buf, infoOff);
  shstr.copy(buf, strOff);
  const sh = (i: number, name: number, off: number, size: number) => {
    const h = shoff + i * 64;
    buf.writeUInt32LE(name, h);
    buf.writeBigUInt64LE(BigInt(off), h + 0x18);
    buf.writeBigUInt64LE(BigInt(size), h + 0x20);
  };
  sh(1, 1, infoOff, info.length);
  sh(2, 10, strOff, shstr.length);
  return buf;
}

test('parseModinfo reads .modinfo key=value strings; repeated keys collect', () => {
  const m = parseModinfo(fakeModule(['license=GPL', 'alias=pci:v1', 'alias=pci:v2', 'depends=jbd2,mbcache,crc16', 'softdep=pre: crc32c', 'name=ext4']));
  assert.equal(m.get('alias'), ['pci:v1', 'pci:v2']);
  assert.equal(moduleDependencies(m), ['crc16', 'crc32c', 'jbd2', 'mbcache']);
  assert.equal(moduleDependencies(parseModinfo(fakeModule(['depends=', 'softdep=pre: a-b post: c']))), ['a_b', 'c']);
  assert.throws(() => parseModinfo(Buffer.from('not an elf file at all, long enough to have a header............')), /not an ELF/);
});

test('module names: suffixes dropped, dashes are underscores', () => {
  assert.is(moduleName('kernel/drivers/net/xen-netfront.ko'), 'xen_netfront');
  assert.is(moduleName('kernel/fs/ext4/ext4.ko.xz'), 'ext4');
});

test('globs: directories match their contents, * stays in a component, ** crosses', () => {
  assert.ok(moduleGlob('kernel/drivers/ata')('kernel/drivers/ata/ahci.ko'));
  assert.not.ok(moduleGlob('kernel/drivers/ata')('kernel/drivers/atari/x.ko'));
  assert.ok(moduleGlob('kernel/drivers/net/ethernet/intel/e1000*')('kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko'));
  assert.not.ok(moduleGlob('kernel/drivers/*.ko')('kernel/drivers/net/x.ko'));
  assert.ok(moduleGlob('kernel/**/virtio_net.ko')('kernel/drivers/net/virtio_net.ko'));
  assert.ok(moduleGlob('kernel/fs/[ef]*')('kernel/fs/fat/vfat.ko'));
});

test('closure follows depends and softdeps transitively; unmatched patterns and missing deps reported', () => {
  const all = new Map<string, string[]>([
    ['kernel/fs/ext4/ext4.ko', ['jbd2', 'mbcache', 'crc16', 'crc32c']],
    ['kernel/fs/jbd2/jbd2.ko', []],
    ['kernel/fs/mbcache.ko', []],
    ['kernel/lib/crc16.ko', []],
    ['kernel/crypto/crc32c_generic.ko', []],
    ['kernel/drivers/ata/ahci.ko', ['libahci']],
    ['kernel/drivers/ata/libahci.ko', ['libata']],
    ['kernel/drivers/ata/libata.ko', ['scsi_mod']],
    ['kernel/drivers/scsi/scsi_mod.ko', []],
    ['kernel/sound/snd.ko', []],
  ]);
  const r = moduleClosure(all, ['kernel/fs/ext4', 'kernel/drivers/ata/ahci.ko', 'kernel/drivers/nosuch']);
  assert.equal(r.paths, [
    'kernel/drivers/ata/ahci.ko', 'kernel/drivers/ata/libahci.ko', 'kernel/drivers/ata/libata.ko', 'kernel/drivers/scsi/scsi_mod.ko',
    'kernel/fs/ext4/ext4.ko', 'kernel/fs/jbd2/jbd2.ko', 'kernel/fs/mbcache.ko', 'kernel/lib/crc16.ko',
  ]);
  assert.equal(r.unmatched, ['kernel/drivers/nosuch']);
  assert.equal(r.missing, ['crc32c']);
});

test.run();
