// clampExtTimes on a real ext3 made by mke2fs -d: every in-use inode's times are
// clamped to the epoch, e2fsck finds nothing wrong, and times already older stay.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../core/exec.ts';
import { clampExtTimes, clampInodeTimes, ExtFormatError, readExtGeometry, type BlockIo } from '../../preinstall/ext-times.ts';

const EPOCH = 1533081600;
const work = mkdtempSync(join(tmpdir(), 'xsf-ext-times-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

function fileIo(path: string, base: number): BlockIo {
  return {
    async read(offset, length) {
      const fh = await open(path, 'r');
      try { const b = Buffer.alloc(length); await fh.read(b, 0, length, base + offset); return b; } finally { await fh.close(); }
    },
    async write(offset, data) {
      const fh = await open(path, 'r+');
      try { await fh.write(data, 0, data.length, base + offset); } finally { await fh.close(); }
    },
  };
}

const stat = async (img: string, path: string) => (await run(['debugfs', '-R', `stat ${path}`, img])).stdout;

test('an ext3 at an offset: new files are clamped to the epoch, old ones keep their time, fsck is clean', async () => {
  const tree = join(work, 'tree');
  mkdirSync(join(tree, 'etc'), { recursive: true });
  writeFileSync(join(tree, 'etc/new'), 'written now\n');
  writeFileSync(join(tree, 'etc/old'), 'from a package\n');
  utimesSync(join(tree, 'etc/old'), 1000000000, 1000000000);
  const img = join(work, 'disk.img');
  const offset = 1048576;
  writeFileSync(img, '');
  await run(['truncate', '-s', '80M', img]);
  await run(['mke2fs', '-q', '-F', '-t', 'ext3', '-E', `offset=${offset}`, '-d', tree, img, '65536k']);
  const at = `${img}?offset=${offset}`;
  assert.match(await stat(at, '/etc/new'), new RegExp(`ctime: 0x(?!${EPOCH.toString(16)})`));
  const r = await clampExtTimes(fileIo(img, offset), EPOCH);
  assert.ok(r.inodes >= 14 && r.changed >= 3, JSON.stringify(r));
  const hex = EPOCH.toString(16);
  const now = await stat(at, '/etc/new');
  for (const f of ['ctime', 'atime', 'mtime']) assert.match(now, new RegExp(`${f}: 0x${hex}:00000000`), now);
  const old = await stat(at, '/etc/old');
  for (const f of ['ctime', 'atime', 'mtime']) assert.match(old, new RegExp(`${f}: 0x${(1000000000).toString(16)}:00000000`), old);
  const fsck = await run(['e2fsck', '-fn', at]);
  assert.match(fsck.stdout, /files/);
  // a second pass has nothing left to do
  assert.is((await clampExtTimes(fileIo(img, offset), EPOCH)).changed, 0);
});

test('file systems with metadata checksums, and non-ext bytes, are refused', async () => {
  const img = join(work, 'ext4.img');
  writeFileSync(img, '');
  await run(['truncate', '-s', '32M', img]);
  await run(['mke2fs', '-q', '-F', '-t', 'ext4', img]);
  const sb = await fileIo(img, 0).read(1024, 1024);
  assert.throws(() => readExtGeometry(sb), (e: Error) => e instanceof ExtFormatError && /metadata checksums/.test(e.message));
  assert.throws(() => readExtGeometry(Buffer.alloc(1024)), /magic 0xEF53 missing/);
});

test('clampInodeTimes: a 256-byte inode loses its nanoseconds and later creation time', () => {
  const inode = Buffer.alloc(256);
  inode.writeUInt32LE(EPOCH + 50, 8);
  inode.writeUInt32LE(EPOCH + 60, 12);
  inode.writeUInt32LE(EPOCH + 70, 16);
  inode.writeUInt16LE(32, 128);
  inode.writeUInt32LE(12345, 136);
  inode.writeUInt32LE(EPOCH + 80, 144);
  assert.ok(clampInodeTimes(inode, EPOCH));
  assert.equal([inode.readUInt32LE(8), inode.readUInt32LE(12), inode.readUInt32LE(16), inode.readUInt32LE(136), inode.readUInt32LE(144)], [EPOCH, EPOCH, EPOCH, 0, EPOCH]);
  assert.not.ok(clampInodeTimes(inode, EPOCH));
});

test.run();
