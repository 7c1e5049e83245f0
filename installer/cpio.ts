// cpio "newc" (SVR4, magic 070701): the format the Linux kernel unpacks an
// initramfs from. The writer streams a directory tree as Buffers so a large tree
// is never held in memory; the reader parses an archive held in memory (tests and
// inspect). No processes.
//
// Choices that make the output a function of the tree's content only:
// - entries in depth-first order, names sorted by byte value within a directory,
//   so every directory comes before its children; no "." entry for the root;
// - inode numbers 1, 2, 3, ... in that order; uid/gid 0; dev 0:0;
// - mtime = min(file mtime, SOURCE_DATE_EPOCH): files from packages keep their
//   (reproducible) package dates, anything made during the build gets the epoch;
// - hard links are written as independent files with nlink 1 (the kernel's
//   unpacker only links entries whose nlink >= 2 and whose inode numbers match);
// - directories get nlink = 2 + number of subdirectories, as on a real file
//   system (the kernel ignores it; GNU cpio shows it);
// - extra entries (e.g. dev/console) can be added without making device nodes.
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export const NEWC_MAGIC = '070701';
const TRAILER = 'TRAILER!!!';

export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

export interface NewcHeader {
  ino: number;
  /** file type and permission bits, as in st_mode */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  fileSize: number;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
  /** path inside the archive, no leading "/" */
  name: string;
}

function hex8(n: number, field: string): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio newc: ${field} ${n} does not fit in 32 bits`);
  return n.toString(16).padStart(8, '0');
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

/** Header + name + padding for one entry. Pure. */
export function encodeNewcHeader(h: NewcHeader): Buffer {
  const name = Buffer.from(h.name + '\0', 'utf8');
  const fields = [h.ino, h.mode, h.uid, h.gid, h.nlink, h.mtime, h.fileSize, h.devMajor, h.devMinor, h.rdevMajor, h.rdevMinor, name.length, 0];
  const names = ['ino', 'mode', 'uid', 'gid', 'nlink', 'mtime', 'filesize', 'devmajor', 'devminor', 'rdevmajor', 'rdevminor', 'namesize', 'check'];
  const text = NEWC_MAGIC + fields.map((f, i) => hex8(f, names[i])).join('');
  return Buffer.concat([Buffer.from(text, 'ascii'), name, Buffer.alloc(pad4(110 + name.length))]);
}

export function newcTrailer(ino = 0): Buffer {
  return encodeNewcHeader({ ino, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, fileSize: 0, devMajor: 0, devMinor: 0, rdevMajor: 0, rdevMinor: 0, name: TRAILER });
}

/** An entry not taken from the tree: a device node, or a file with given contents. */
export interface ExtraEntry {
  /** path inside the archive, no leading "/" */
  path: string;
  type: 'char' | 'block' | 'dir' | 'file' | 'symlink';
  /** permission bits */
  mode: number;
  major?: number;
  minor?: number;
  data?: Buffer;
  target?: string;
}

export interface NewcTreeOptions {
  /** mtimes are clamped to this (seconds) */
  sourceDateEpoch: number;
  /**
   * added at their sorted place; an extra entry replaces a tree entry of the same
   * path. Its parent must be a directory of the tree or another extra entry.
   */
  extra?: ExtraEntry[];
}

export interface NewcStats {
  entries: number;
  bytes: number;
}

/** Linux dev_t split (glibc's gnu_dev_major / gnu_dev_minor). */
export function devMajor(dev: number): number {
  return Number(((BigInt(dev) >> 32n) & 0xfffff000n) | ((BigInt(dev) >> 8n) & 0xfffn));
}
export function devMinor(dev: number): number {
  return Number(((BigInt(dev) >> 12n) & 0xffffff00n) | (BigInt(dev) & 0xffn));
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Stream a newc archive of everything under `root` (not `root` itself), then the
 * trailer. `stats`, if given, is filled in as the archive is produced.
 */
export async function* newcFromTree(root: string, opts: NewcTreeOptions, stats: NewcStats = { entries: 0, bytes: 0 }): AsyncGenerator<Buffer> {
  const epoch = opts.sourceDateEpoch;
  const extras = new Map((opts.extra ?? []).map((e) => [e.path.replace(/^\/+/, ''), e]));
  let ino = 0;
  const emit = (b: Buffer) => {
    stats.bytes += b.length;
    return b;
  };
  const header = (name: string, mode: number, nlink: number, mtime: number, size: number, rdev = [0, 0]) => {
    stats.entries++;
    return emit(encodeNewcHeader({
      ino: ++ino, mode, uid: 0, gid: 0, nlink, mtime: Math.min(Math.floor(mtime), epoch), fileSize: size,
      devMajor: 0, devMinor: 0, rdevMajor: rdev[0], rdevMinor: rdev[1], name,
    }));
  };

  async function* extraEntry(rel: string, e: ExtraEntry): AsyncGenerator<Buffer> {
    const perm = e.mode & 0o7777;
    if (e.type === 'char' || e.type === 'block') {
      yield header(rel, (e.type === 'char' ? S_IFCHR : S_IFBLK) | perm, 1, epoch, 0, [e.major ?? 0, e.minor ?? 0]);
    } else if (e.type === 'dir') {
      yield header(rel, S_IFDIR | perm, 2, epoch, 0);
    } else {
      const data = e.type === 'symlink' ? Buffer.from(e.target ?? '') : e.data ?? Buffer.alloc(0);
      yield header(rel, (e.type === 'symlink' ? S_IFLNK : S_IFREG) | perm, 1, epoch, data.length);
      yield emit(data);
      yield emit(Buffer.alloc(pad4(data.length)));
    }
  }

  async function* visit(relDir: string): AsyncGenerator<Buffer> {
    const absDir = relDir ? join(root, relDir) : root;
    // an extra directory need not exist in the tree
    const names = new Set(await readdir(absDir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' && extras.get(relDir)?.type === 'dir') return [] as string[];
      throw e;
    }));
    // extra entries that live directly in this directory
    for (const p of extras.keys()) {
      const slash = p.lastIndexOf('/');
      if ((slash < 0 ? '' : p.slice(0, slash)) === relDir) names.add(p.slice(slash + 1));
    }
    for (const name of [...names].sort(byteOrder)) {
      const rel = relDir ? `${relDir}/${name}` : name;
      const extra = extras.get(rel);
      if (extra) {
        yield* extraEntry(rel, extra);
        if (extra.type === 'dir') yield* visit(rel);
        continue;
      }
      const abs = join(root, rel);
      const st = await lstat(abs);
      const perm = st.mode & 0o7777;
      if (st.isDirectory()) {
        const children = await readdir(abs, { withFileTypes: true });
        const subdirs = children.filter((d) => d.isDirectory()).length;
        yield header(rel, S_IFDIR | perm, 2 + subdirs, st.mtimeMs / 1000, 0);
        yield* visit(rel);
      } else if (st.isSymbolicLink()) {
        const target = Buffer.from(await readlink(abs), 'utf8');
        yield header(rel, S_IFLNK | perm, 1, st.mtimeMs / 1000, target.length);
        yield emit(target);
        yield emit(Buffer.alloc(pad4(target.length)));
      } else if (st.isFile()) {
        yield header(rel, S_IFREG | perm, 1, st.mtimeMs / 1000, st.size);
        let n = 0;
        for await (const chunk of createReadStream(abs, { highWaterMark: 1 << 20 })) {
          n += (chunk as Buffer).length;
          if (n > st.size) break;
          yield emit(chunk as Buffer);
        }
        if (n !== st.size) throw new Error(`cpio newc: ${abs} changed size while being archived (${st.size} → ${n} bytes)`);
        yield emit(Buffer.alloc(pad4(st.size)));
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        yield header(rel, (st.isCharacterDevice() ? S_IFCHR : S_IFBLK) | perm, 1, st.mtimeMs / 1000, 0, [devMajor(st.rdev), devMinor(st.rdev)]);
      } else if (st.isFIFO()) {
        yield header(rel, S_IFIFO | perm, 1, st.mtimeMs / 1000, 0);
      }
      // sockets are left out: they mean nothing in an archive
    }
  }

  yield* visit('');
  stats.entries++;
  yield emit(newcTrailer());
}

export interface NewcEntry extends NewcHeader {
  /** offset of the entry's data in the archive */
  dataOffset: number;
  data: Buffer;
}

/**
 * Parse a newc archive held in memory, up to the trailer. Throws on a bad magic
 * or a truncated entry, naming the offset. Pure.
 */
export function readNewc(buf: Buffer): NewcEntry[] {
  const out: NewcEntry[] = [];
  let off = 0;
  for (;;) {
    if (off + 110 > buf.length) throw new Error(`cpio newc: archive ends at byte ${buf.length} without a ${TRAILER} entry`);
    const magic = buf.toString('ascii', off, off + 6);
    if (magic !== NEWC_MAGIC && magic !== '070702') throw new Error(`cpio newc: bad magic "${magic}" at byte ${off}`);
    const f = (i: number) => {
      const s = buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8);
      if (!/^[0-9a-fA-F]{8}$/.test(s)) throw new Error(`cpio newc: bad header field "${s}" at byte ${off + 6 + i * 8}`);
      return parseInt(s, 16);
    };
    const nameSize = f(11);
    const fileSize = f(6);
    const nameStart = off + 110;
    const dataOffset = nameStart + nameSize + pad4(110 + nameSize);
    if (dataOffset + fileSize > buf.length) throw new Error(`cpio newc: entry at byte ${off} runs past the end of the archive`);
    const name = buf.toString('utf8', nameStart, nameStart + nameSize - 1);
    if (name === TRAILER) return out;
    out.push({
      ino: f(0), mode: f(1), uid: f(2), gid: f(3), nlink: f(4), mtime: f(5), fileSize,
      devMajor: f(7), devMinor: f(8), rdevMajor: f(9), rdevMinor: f(10), name,
      dataOffset, data: buf.subarray(dataOffset, dataOffset + fileSize),
    });
    off = dataOffset + fileSize + pad4(fileSize);
  }
}
