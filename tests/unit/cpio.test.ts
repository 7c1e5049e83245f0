import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync, chmodSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  devMajor, devMinor, encodeNewcHeader, newcFromTree, newcTrailer, readNewc,
  S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, type NewcStats,
} from '../../installer/cpio.ts';

const EPOCH = 1_700_000_000;

async function collect(gen: AsyncGenerator<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of gen) parts.push(b);
  return Buffer.concat(parts);
}

function makeTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'xsforge-cpio-'));
  mkdirSync(join(root, 'b/sub'), { recursive: true });
  mkdirSync(join(root, 'a-dir'));
  writeFileSync(join(root, 'init'), '#!/bin/sh\necho hi\n');
  chmodSync(join(root, 'init'), 0o755);
  writeFileSync(join(root, 'b/sub/data.bin'), Buffer.alloc(5, 7)); // 5 bytes: needs padding
  writeFileSync(join(root, 'b/empty'), '');
  writeFileSync(join(root, 'b/new'), 'made during the build');
  linkSync(join(root, 'b/new'), join(root, 'b/hardlink'));
  symlinkSync('sub/data.bin', join(root, 'b/link'));
  utimesSync(join(root, 'init'), 1_000_000_000, 1_000_000_000); // older than the epoch: kept
  return root;
}

test('header layout: magic, 13 hex fields, name NUL-terminated, 4-byte aligned', () => {
  const h = encodeNewcHeader({ ino: 1, mode: S_IFREG | 0o644, uid: 0, gid: 0, nlink: 1, mtime: 0x10, fileSize: 3, devMajor: 0, devMinor: 0, rdevMajor: 0, rdevMinor: 0, name: 'ab' });
  assert.is(h.toString('ascii', 0, 6), '070701');
  assert.is(h.toString('ascii', 6, 14), '00000001');
  assert.is(h.toString('ascii', 14, 22), '000081a4');
  assert.is(h.toString('ascii', 94, 102), '00000003', 'namesize counts the NUL');
  assert.is(h.length % 4, 0);
  assert.is(h.length, 116); // 110 + "ab\0" = 113, padded to 116
  assert.is(h[112], 0);
  assert.throws(() => encodeNewcHeader({ ino: 1, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, fileSize: 2 ** 32, devMajor: 0, devMinor: 0, rdevMajor: 0, rdevMinor: 0, name: 'x' }), /filesize/);
});

test('trailer reads back as the end of an empty archive', () => {
  assert.equal(readNewc(newcTrailer()), []);
  assert.throws(() => readNewc(Buffer.from('hello')), /without a TRAILER/);
  assert.throws(() => readNewc(Buffer.concat([Buffer.from('070707'), Buffer.alloc(200)])), /bad magic/);
});

test('tree → archive → entries: order, types, data, padding, clamped mtimes, inodes', async () => {
  const root = makeTree();
  try {
    const stats: NewcStats = { entries: 0, bytes: 0 };
    const buf = await collect(newcFromTree(root, { sourceDateEpoch: EPOCH }, stats));
    assert.is(buf.length % 4, 0);
    assert.is(stats.bytes, buf.length);
    const entries = readNewc(buf);
    assert.is(stats.entries, entries.length + 1, 'stats count the trailer');
    assert.equal(entries.map((e) => e.name), ['a-dir', 'b', 'b/empty', 'b/hardlink', 'b/link', 'b/new', 'b/sub', 'b/sub/data.bin', 'init']);
    assert.equal(entries.map((e) => e.ino), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const by = Object.fromEntries(entries.map((e) => [e.name, e]));
    assert.is(by['b'].mode & S_IFMT, S_IFDIR);
    assert.is(by['b'].nlink, 3, 'b has one subdirectory');
    assert.is(by['a-dir'].nlink, 2);
    assert.is(by['b/link'].mode & S_IFMT, S_IFLNK);
    assert.is(by['b/link'].data.toString(), 'sub/data.bin');
    assert.equal([...by['b/sub/data.bin'].data], [7, 7, 7, 7, 7]);
    assert.is(by['init'].mode, S_IFREG | 0o755);
    assert.is(by['init'].mtime, 1_000_000_000, 'older mtime kept');
    assert.is(by['b/new'].mtime, EPOCH, 'newer mtime clamped');
    assert.is(by['b/hardlink'].nlink, 1, 'hard links become separate files');
    assert.is(by['b/hardlink'].data.toString(), 'made during the build');
    assert.ok(entries.every((e) => e.uid === 0 && e.gid === 0 && e.devMajor === 0));
    assert.ok(entries.every((e) => e.dataOffset % 4 === 0));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('same tree gives the same bytes; extra entries land in sorted place and replace tree entries', async () => {
  const root = makeTree();
  try {
    const opts = {
      sourceDateEpoch: EPOCH,
      extra: [
        { path: 'dev/console', type: 'char' as const, mode: 0o600, major: 5, minor: 1 },
        { path: 'dev', type: 'dir' as const, mode: 0o755 },
        { path: 'init', type: 'file' as const, mode: 0o755, data: Buffer.from('replaced') },
      ],
    };
    const one = await collect(newcFromTree(root, opts));
    const two = await collect(newcFromTree(root, opts));
    assert.ok(one.equals(two));
    const entries = readNewc(one);
    const names = entries.map((e) => e.name);
    assert.equal(names.slice(0, 4), ['a-dir', 'b', 'b/empty', 'b/hardlink']);
    assert.ok(names.indexOf('dev') < names.indexOf('dev/console'));
    assert.ok(names.indexOf('b/sub/data.bin') < names.indexOf('dev'));
    const con = entries.find((e) => e.name === 'dev/console')!;
    assert.is(con.mode, S_IFCHR | 0o600);
    assert.equal([con.rdevMajor, con.rdevMinor], [5, 1]);
    assert.is(entries.find((e) => e.name === 'init')!.data.toString(), 'replaced');
    assert.is(names.filter((n) => n === 'init').length, 1);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('dev_t split matches glibc for small and large numbers', () => {
  assert.equal([devMajor(0x0501), devMinor(0x0501)], [5, 1]);
  // major 259, minor 300000: makedev = (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12) | ((major & ~0xfff) << 32)
  const dev = (300000 & 0xff) + (259 & 0xfff) * 2 ** 8 + (300000 & ~0xff) * 2 ** 12;
  assert.equal([devMajor(dev), devMinor(dev)], [259, 300000]);
});

test.run();
