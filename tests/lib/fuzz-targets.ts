// The fuzz targets (see tests/lib/fuzz.ts): for each parser of outside input,
// valid starting inputs (made by the project's own writers where it has them,
// else small committed fixtures from tests/fixtures/fuzz/), the call, and the
// errors the parser documents. Loaded inside the fuzz worker.
import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XsforgeError } from '../../core/errors.ts';
import type { FuzzTarget } from './fuzz.ts';
import { parseAnswerFile, validateAnswerFile } from '../../answerfiles/parse.ts';
import { generateAnswerFile, AnswerFileGenerateError } from '../../answerfiles/generate.ts';
import type { FreshInstallConfig, InstallConfig } from '../../answerfiles/model.ts';
import { parseInventory } from '../../inventory/load.ts';
import { hostAnswerFile } from '../../inventory/answers.ts';
import { checkUpdateXml, parseUpdateXml, renderUpdateXml, UpdateXmlError } from '../../updates/update-xml.ts';
import { decompressMetadata, parsePrimary, parseRepomd, RepoFormatError, scanPrimaryNames } from '../../repo/verify.ts';
import { parseComps, productGroups, renderComps } from '../../repo/comps.ts';
import { IsoImage, bufferSource, parseBootCatalog, parseGptHeader as isoParseGptHeader, parseMbr as isoParseMbr } from '../../media/iso9660.ts';
import { readGpt, readGptBackup, writeGpt } from '../../disk/gpt.ts';
import { protectiveMbr, readMbr, writeMbr } from '../../disk/mbr.ts';
import { readTableFromImage } from '../../disk/write-table.ts';
import { encodeNewcHeader, newcTrailer, readNewc, S_IFDIR, S_IFLNK, S_IFREG } from '../../installer/cpio.ts';
import { formatRpmInfo, parseRpm, RpmFormatError } from '../../packages/rpm-header.ts';
import { clampExtTimes, ExtFormatError, readExtGeometry, type BlockIo } from '../../preinstall/ext-times.ts';
import { loadRecipe } from '../../recipes/load.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = (name: string) => readFileSync(join(root, 'tests/fixtures/fuzz', name));

const isXsforge = (err: unknown) => err instanceof XsforgeError;

/** A plain Error (or RangeError) that the module throws itself, recognised by its message. */
function ownMessage(err: unknown, patterns: RegExp[]): boolean {
  if (!(err instanceof Error) || err instanceof TypeError) return false;
  if ((err as NodeJS.ErrnoException).code?.startsWith('ERR_')) return false; // Node's own, e.g. ERR_OUT_OF_RANGE
  if (err.constructor !== Error && err.constructor !== RangeError) return false;
  return patterns.some((p) => p.test(err.message));
}

/** Prototype pollution from a parsed document (`__proto__` keys) fails the input. */
function checkPrototype(): void {
  const probe = {} as Record<string, unknown>;
  for (const k of ['polluted', 'x', 'a', 'e', 'length', 'toString']) {
    if (k !== 'toString' && k in probe) throw new TypeError(`Object.prototype was polluted with '${k}'`);
  }
  if (typeof probe.toString !== 'function') throw new TypeError('Object.prototype.toString was replaced');
}

const XML_TOKENS = [
  '<', '>', '&', '&amp;', '&lt;', '&#x110000;', '&#0;', '&#99999999999;', '&#xD800;', '&e;', '&unknown;',
  '<!DOCTYPE a [<!ENTITY e "x">]>', '<!DOCTYPE a [<!ENTITY e "&e;">]>', '<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
  '<![CDATA[', ']]>', '<!--', '-->', '<?xml version="1.0"?>', '<?pi x?>', '"', "'", '=', '/>', '</', '<a>', '</a>',
  'xmlns:a="b"', '<a:b>', '\u0000', '\uFEFF', '__proto__', '<__proto__>', '</__proto__>', '<constructor>', ' hasOwnProperty="1"',
  '<toString/>', ' __proto__="x"', '\r\n', '\t',
];

const YAML_TOKENS = [
  '&a ', '*a', '<<: *a', '!!binary ', '!!js/function ', '!!set ', '!!omap ', '? ', '- ', ': ', '{', '}', '[', ']', '"', "'",
  '|', '>', '#', '%YAML 1.1\n', '---\n', '...\n', '__proto__: ', '__proto__:\n  polluted: 1\n', 'constructor: ', 'extends: ', '~', 'null',
  '1e999', '0x', '0o7', '\t', '\n  ', '\n- ', ': [', '$(touch /tmp/pwned)', '`id`', '../../../etc/passwd', '/etc/passwd',
  'a: &a [*a]\n', 'x: &x {y: *x}\n',
];

// ---------------------------------------------------------------- answer files

const BASE: FreshInstallConfig = {
  kind: 'install', mode: 'fresh', primaryDisk: '/dev/sda', guestStorage: true, srAtEnd: true,
  preserveFirstPartition: 'if-utility', guestDisks: [], srType: 'lvm', initialPartitions: [],
  adminInterface: { name: 'eth0', proto: 'dhcp', protov6: 'none' },
  nameServers: [], timezone: 'Etc/UTC', ntpServers: [], services: {},
  sources: [{ type: 'url', address: 'http://10.0.2.2:8080/xs/' }],
  bootloader: { location: 'mbr', writeBootEntry: true },
  driverSources: [], scripts: [], fcoeInterfaces: [], uiConfirmationPrompt: false,
};

const ANSWER_CONFIGS: InstallConfig[] = [
  BASE,
  {
    ...BASE, mode: 'reinstall', srType: 'ext', guestDisks: ['/dev/sdb'], keymap: 'uk', hostname: 'xs-1.lab.example',
    adminInterface: { hwaddr: '52:54:00:12:34:56', proto: 'static', ipv4: { address: '192.168.7.10', netmask: '255.255.255.0', gateway: '192.168.7.1' }, protov6: 'static', ipv6: { address: 'fd00::10/64', gateway: 'fd00::1' } },
    rootPassword: { type: 'plaintext', value: 's3cret' }, nameServers: ['192.168.7.1'], ntpServers: ['0.pool.ntp.org'],
    initialPartitions: [{ number: 1, size: 41943040, id: 0xde }], services: { sshd: 'enabled' }, networkBackend: 'bridge',
    scripts: [{ stage: 'filesystem-populated', type: 'nfs', url: 'nfs://srv:/s.sh' }],
    driverSources: [{ type: 'url', address: 'http://h/drivers/' }], fcoeInterfaces: [{ name: 'eth2', dcb: true }],
    sources: [{ type: 'local', address: '' }, { type: 'nfs', address: 'nfs.example:/packs' }],
  },
  { kind: 'install', mode: 'upgrade', existingInstallation: '/dev/sda', sources: [{ type: 'local', address: '' }], bootloader: { location: 'mbr', writeBootEntry: true }, driverSources: [], scripts: [], fcoeInterfaces: [], uiConfirmationPrompt: false },
  { kind: 'restore', backupDisk: '/dev/sda', driverSources: [], scripts: [], fcoeInterfaces: [], uiConfirmationPrompt: false },
];

const answerfile: FuzzTarget = {
  seeds() {
    const hosts = parseInventory(readFileSync(join(root, 'examples/hosts.yaml'), 'utf8'), 'hosts.yaml').inventory!.hosts;
    return [...ANSWER_CONFIGS.map(generateAnswerFile), ...hosts.map((h) => hostAnswerFile(h, { repoUrl: 'http://192.0.2.5/xs/' }))].map((t) => Buffer.from(t));
  },
  run(input) {
    const text = input.toString('utf8');
    const r = parseAnswerFile(text);
    validateAnswerFile(text, { generated: true });
    checkPrototype();
    // what the parser accepts, the generator writes back or refuses cleanly
    if (r.config) parseAnswerFile(generateAnswerFile(r.config));
  },
  clean: (err) => isXsforge(err) || err instanceof AnswerFileGenerateError,
  dictionary: XML_TOKENS,
};

// ---------------------------------------------------------------- update.xml, repository metadata, comps

const updateXml: FuzzTarget = {
  seeds: () => [
    renderUpdateXml({ nameLabel: 'XS71ECU2001', uuid: '3f6e4c2a-8d1b-5e7f-9a0b-1c2d3e4f5a6b', version: '1.0', key: 'RPM-GPG-KEY-XS-7', installationSize: 1234567, afterApplyGuidance: ['restartHost', 'restartXAPI'], enforceHomogeneity: true, control: 'control-XS71ECU2001', description: 'A hotfix & more <fixes>', livepatch: true, rolledUpBy: { nameLabel: 'XS71ECU3', uuid: '00000000-1111-2222-3333-444444444444' } }),
    renderUpdateXml({ nameLabel: 'pack', uuid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', version: '2', installationSize: 0, afterApplyGuidance: [], enforceHomogeneity: false, control: 'control-pack', description: 'x', livepatch: false }),
  ].map((t) => Buffer.from(t)),
  run(input) {
    const text = input.toString('utf8');
    const r = checkUpdateXml(text);
    checkPrototype();
    if (r.update) renderUpdateXml(r.update);
    parseUpdateXml(text);
  },
  clean: (err) => err instanceof UpdateXmlError,
  dictionary: XML_TOKENS,
};

const repoMetadata: FuzzTarget = {
  seeds: () => [fixture('repomd.xml'), fixture('primary.xml')],
  run(input) {
    const text = input.toString('utf8');
    // each parser on every input: a mutated repomd is also a strange primary
    for (const parse of [parseRepomd, parsePrimary, (t: string) => scanPrimaryNames(t), (t: string) => decompressMetadata(Buffer.from(t), 'x.xml')]) {
      try {
        parse(text);
      } catch (err) {
        if (!(err instanceof RepoFormatError)) throw err;
      }
    }
    checkPrototype();
  },
  clean: (err) => err instanceof RepoFormatError,
  dictionary: XML_TOKENS,
};

const repoMetadataGzip: FuzzTarget = {
  // gzip-compressed metadata as a mirror serves it: decompressMetadata on damaged bytes
  seeds: () => [readFileSync(join(root, 'tests/fixtures/fuzz/primary.xml.gz'))],
  run(input) {
    const text = decompressMetadata(input, 'repodata/primary.xml.gz');
    parsePrimary(text);
  },
  clean: (err) => err instanceof RepoFormatError,
};

const comps: FuzzTarget = {
  seeds: () => [Buffer.from(renderComps(productGroups(['bash', 'coreutils'], ['xen-hypervisor', 'xapi'])))],
  run(input) {
    parseComps(input.toString('utf8'));
    checkPrototype();
  },
  clean: isXsforge,
  dictionary: XML_TOKENS,
};

// ---------------------------------------------------------------- ISO 9660

const iso9660: FuzzTarget = {
  seeds: () => [fixture('tiny.iso')],
  async run(input) {
    // names as a reader picks them, and one other view (chosen by the input, so replays agree)
    for (const names of ['auto', input.length % 2 ? 'joliet' : 'iso9660'] as const) {
      let img: IsoImage;
      try {
        img = await IsoImage.open(bufferSource(input), { names });
      } catch (err) {
        if (err instanceof XsforgeError) continue;
        throw err;
      }
      try {
        const files = await img.listFiles();
        for (const f of files.slice(0, 64)) if (f.type === 'file' && f.size < 1 << 20) await img.readFile(f.path);
        await img.elTorito();
        await img.systemArea();
      } catch (err) {
        if (!(err instanceof XsforgeError)) throw err;
      }
    }
    // the standalone decoders on the same bytes
    isoParseMbr(input.subarray(0, 512));
    isoParseGptHeader(input.subarray(512, 1024));
    parseBootCatalog(input.subarray(0x8000, 0x8000 + 2048));
  },
  clean: isXsforge,
  dictionary: ['CD001', 'EFI PART', 'RRIP_1991A', 'SP', 'CE', 'NM', 'SL', 'PX', 'TF', 'CL', 'RE', 'PN', 'ER', 'ST', '\x01CD001\x01', '\xff'],
};

// ---------------------------------------------------------------- GPT, MBR, the table on an image

const DISK_SECTORS = 128;

function gptDisk(partitions: Parameters<typeof writeGpt>[0]['partitions']): Buffer {
  const img = writeGpt({ diskSectors: DISK_SECTORS, diskGuid: '11111111-2222-3333-4444-555555555555', partitions });
  const disk = Buffer.alloc(DISK_SECTORS * 512);
  img.primary.copy(disk, 0);
  img.backup.copy(disk, img.backupOffset);
  return disk;
}

const GPT_CLEAN = [
  /^need at least \d+ bytes to read a GPT/, /^no GPT header (at LBA 1|in the last sector)/, /^GPT entry array needs/,
  /^buffer does not reach back to the backup entry array/, /^an MBR is 512 bytes/,
];

const gpt: FuzzTarget = {
  seeds: () => [
    gptDisk([
      { number: 1, firstSector: 34, lastSector: 60, typeGuid: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', uniqueGuid: '00000000-0000-0000-0000-000000000001', name: 'ESP' },
      { number: 2, firstSector: 61, lastSector: 94, typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', uniqueGuid: '00000000-0000-0000-0000-000000000002', name: 'root', attributes: 1n << 60n },
    ]),
    gptDisk([]),
  ],
  run(input) {
    readMbr(input);
    const r = readGpt(input);
    for (const p of r.partitions) if (!Number.isFinite(p.firstSector)) throw new TypeError('non-finite sector');
    readGptBackup(input);
    readGptBackup(input.subarray(input.length - 33 * 512));
  },
  clean: (err) => ownMessage(err, GPT_CLEAN),
  dictionary: ['EFI PART', '\x55\xaa', '\xee'],
};

const mbr: FuzzTarget = {
  seeds: () => [
    writeMbr({ diskSignature: 0x12345678, partitions: [{ number: 1, firstSector: 2048, sectorCount: 8192, id: 0x83, active: true }, { number: 4, firstSector: 10240, sectorCount: 100, id: 0x8e }] }),
    protectiveMbr(DISK_SECTORS, true, 0xdeadbeef),
  ],
  run(input) {
    readMbr(input);
    isoParseMbr(input);
  },
  clean: (err) => ownMessage(err, GPT_CLEAN),
};

let imageDir: string | undefined;
const diskImage: FuzzTarget = {
  // readTableFromImage reads a file: each input is written to one temp file
  seeds: () => gpt.seeds() as Buffer[],
  async run(input) {
    imageDir ??= mkdtempSync(join(tmpdir(), 'xsf-fuzz-image-'));
    const file = join(imageDir, 'disk.img');
    writeFileSync(file, input);
    await readTableFromImage(file);
  },
  clean: (err) => isXsforge(err) || ownMessage(err, [...GPT_CLEAN, /sectors? .* too small for a GPT/]),
  cleanup() { if (imageDir) rmSync(imageDir, { recursive: true, force: true }); },
};

// ---------------------------------------------------------------- ext superblock

const extFs: FuzzTarget = {
  // a small ext2 made by mke2fs (tests/fixtures/fuzz/make-fixtures.ts); only its first 64 KiB vary
  seeds: () => [fixture('ext2-head.bin')],
  async run(input) {
    if (input.length >= 2048) readExtGeometry(input.subarray(1024, 2048));
    else readExtGeometry(input.subarray(Math.min(1024, input.length)));
    const io: BlockIo = {
      async read(offset, length) {
        // reads past the end give zeros, as from the rest of a sparse image file, up to
        // the 256 KiB the fixture's file system has; further is a damaged superblock
        if (offset < 0 || offset + length > 256 * 1024) throw new ExtFormatError(`read of ${length} bytes at ${offset} is past the end of the image`);
        const b = Buffer.alloc(length);
        if (offset < input.length) input.copy(b, 0, offset, Math.min(input.length, offset + length));
        return b;
      },
      async write() {},
    };
    await clampExtTimes(io, 1533081600);
  },
  clean: (err) => err instanceof ExtFormatError,
};

// ---------------------------------------------------------------- cpio, rpm

function cpioEntry(name: string, mode: number, data: Buffer, ino: number): Buffer {
  // encodeNewcHeader writes header, name and its padding; the data is padded to 4 bytes too
  const head = encodeNewcHeader({ ino, mode, uid: 0, gid: 0, nlink: 1, mtime: 1533081600, fileSize: data.length, devMajor: 0, devMinor: 0, rdevMajor: 0, rdevMinor: 0, name });
  return Buffer.concat([head, data, Buffer.alloc((4 - (data.length % 4)) % 4)]);
}

const cpio: FuzzTarget = {
  seeds: () => [
    Buffer.concat([
      cpioEntry('etc', S_IFDIR | 0o755, Buffer.alloc(0), 1),
      cpioEntry('etc/hosts', S_IFREG | 0o644, Buffer.from('127.0.0.1 localhost\n'), 2),
      cpioEntry('link', S_IFLNK | 0o777, Buffer.from('etc/hosts'), 3),
      cpioEntry('init', S_IFREG | 0o755, Buffer.from('#!/bin/sh\nexec /bin/sh\n'), 4),
      newcTrailer(),
    ]),
  ],
  run(input) {
    for (const e of readNewc(input)) if (e.data.length !== e.fileSize) throw new TypeError('entry data shorter than its size');
  },
  clean: (err) => ownMessage(err, [/^cpio newc: /]),
  dictionary: ['070701', '070702', 'TRAILER!!!', 'ffffffff', '00000000', '7fffffff'],
};

const rpm: FuzzTarget = {
  seeds: () => [fixture('tiny.rpm')],
  run(input) {
    formatRpmInfo(parseRpm(input));
  },
  clean: (err) => err instanceof RpmFormatError,
  dictionary: ['\xed\xab\xee\xdb', '\x8e\xad\xe8\x01', '\x89\x02', '\xc2\xff'],
};

// ---------------------------------------------------------------- recipes, inventories

let recipeDir: string | undefined;
const recipe: FuzzTarget = {
  seeds: () => ['test-mini.yaml', 'xenserver-7.1.2.yaml'].map((f) => readFileSync(join(root, 'recipes', f))),
  run(input) {
    if (!recipeDir) {
      // the fuzzed recipe sits beside links to the shipped ones, so `extends`, the EULA and patches resolve
      recipeDir = mkdtempSync(join(tmpdir(), 'xsf-fuzz-recipe-'));
      for (const f of readdirSync(join(root, 'recipes'))) symlinkSync(join(root, 'recipes', f), join(recipeDir, f));
    }
    const file = join(recipeDir, 'fuzzed.yaml');
    writeFileSync(file, input);
    try {
      loadRecipe(file);
    } finally {
      checkPrototype();
    }
  },
  clean: isXsforge,
  dictionary: YAML_TOKENS,
  cleanup() { if (recipeDir) rmSync(recipeDir, { recursive: true, force: true }); },
};

const inventory: FuzzTarget = {
  seeds: () => [readFileSync(join(root, 'examples/hosts.yaml'))],
  run(input) {
    const r = parseInventory(input.toString('utf8'), 'hosts.yaml', { randomBytes: (n) => Buffer.alloc(n, 7) });
    checkPrototype();
    for (const h of r.inventory?.hosts ?? []) hostAnswerFile(h, { repoUrl: 'http://192.0.2.5/xs/' });
  },
  clean: isXsforge,
  dictionary: YAML_TOKENS,
};

export const targets: Record<string, FuzzTarget> = {
  answerfile, 'update-xml': updateXml, 'repo-metadata': repoMetadata, 'repo-metadata-gzip': repoMetadataGzip, comps,
  iso9660, gpt, mbr, 'disk-image': diskImage, 'ext-fs': extFs, cpio, rpm, recipe, inventory,
};
