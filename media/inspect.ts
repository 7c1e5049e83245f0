// `xsforge inspect`: what is inside an ISO we (or anyone) mastered, read with
// our own ISO 9660 reader: volume, El Torito entries, the USB-stick system area,
// the file list and `.treeinfo`. Also shows a plain `.treeinfo` file.
import { open, readFile, stat } from 'node:fs/promises';
import { XsforgeError } from '../core/errors.ts';
import {
  IsoImage, fileSource, looksLikeIso, modeString, IsoFormatError, VD_START,
  type IsoFileType, type NameSource,
} from './iso9660.ts';
import { parseTreeinfo, TreeinfoError, type TreeinfoSection } from './treeinfo.ts';
import { summarizeRepository, type RepositorySummary } from '../repo/summary.ts';
import { formatUpdateSummary, summarizeUpdate, type UpdateIsoSummary } from '../updates/inspect.ts';

export interface IsoFileReport {
  path: string;
  type: IsoFileType;
  size: number;
  /** `ls -l` style, e.g. "-rw-r--r--"; null without Rock Ridge */
  mode: string | null;
  /** first block of the file's data */
  lba: number;
  symlinkTarget?: string;
}

export interface IsoBootEntryReport {
  index: number;
  /** 0 = the catalog's default entry, n = n-th section */
  section: number;
  platform: string;
  platformId: number;
  bootable: boolean;
  emulation: string;
  loadSegment: number;
  /** 512-byte sectors the firmware loads */
  loadSectors: number;
  loadRba: number;
  path: string | null;
  bootInfoTable: boolean;
}

export interface IsoPartitionReport {
  number: number;
  /** 512-byte sectors */
  start: number;
  sectors: number;
  /** file in the ISO tree whose data the partition starts at (e.g. the EFI image) */
  path: string | null;
}

export interface IsoReport {
  kind: 'iso';
  path: string;
  imageBytes: number;
  volume: {
    volumeId: string;
    systemId: string;
    publisherId: string;
    preparerId: string;
    applicationId: string;
    volumeSetId: string;
    logicalBlockSize: number;
    volumeBlocks: number;
    volumeBytes: number;
    created: string | null;
    modified: string | null;
  };
  /** which names the tree was read with */
  names: NameSource;
  boot: {
    catalogLba: number;
    catalogPath: string | null;
    validationChecksumOk: boolean;
    entries: IsoBootEntryReport[];
    problems: string[];
  } | null;
  systemArea: {
    summary: string;
    mbr: { signatureOk: boolean; partitions: Array<IsoPartitionReport & { active: boolean; type: number }> };
    gpt: {
      diskGuid: string;
      headerCrcOk: boolean;
      entriesCrcOk: boolean;
      backupHeaderOk: boolean;
      entriesLba: number;
      entryCount: number;
      firstUsableLba: number;
      lastUsableLba: number;
      backupLba: number;
      partitions: Array<IsoPartitionReport & { typeGuid: string; typeName: string | null; name: string; attributes: string }>;
    } | null;
  };
  fileCount: number;
  /** bytes in regular files */
  fileBytes: number;
  /** absent when asked for without files */
  files?: IsoFileReport[];
  treeinfo: TreeinfoSection[] | null;
  /** set when the ISO has a `.treeinfo` we could not parse */
  treeinfoError?: string;
  /** the yum repository at the root (repodata/repomd.xml), or null */
  repository: RepositorySummary | null;
  repositoryError?: string;
  /** an update ISO (update.xml at the root, SPEC section 6): its metadata, control package and signatures */
  update?: UpdateIsoSummary;
  updateError?: string;
}

export interface TreeinfoReport {
  kind: 'treeinfo';
  path: string;
  sections: TreeinfoSection[];
}

export interface InspectOptions {
  /** include the file list (default true) */
  files?: boolean;
}

/** Reads an ISO image file and describes it. */
export async function inspectIso(path: string, opts: InspectOptions = {}): Promise<IsoReport> {
  const source = await fileSource(path);
  let iso: IsoImage;
  try {
    iso = await IsoImage.open(source);
  } catch (err) {
    await source.close?.();
    if (err instanceof IsoFormatError) throw new IsoFormatError(`${path}: ${err.message}`, err.hint);
    throw err;
  }
  try {
    const pvd = iso.pvd;
    const all = await iso.listFiles();
    const bs = iso.blockSize;
    const pathAtSector = async (sector512: number) =>
      (sector512 * 512) % bs === 0 && sector512 > 0 ? (await iso.pathAtLba((sector512 * 512) / bs)) ?? null : null;

    const catalog = await iso.elTorito();
    const sa = await iso.systemArea();
    let treeinfo: TreeinfoSection[] | null = null;
    let treeinfoError: string | undefined;
    const ti = await iso.stat('/.treeinfo');
    if (ti?.type === 'file') {
      try {
        treeinfo = parseTreeinfo((await iso.readFile('/.treeinfo')).toString('utf8'), `${path}:/.treeinfo`);
      } catch (err) {
        if (!(err instanceof TreeinfoError)) throw err;
        treeinfoError = err.message;
      }
    }
    let repository: RepositorySummary | null = null;
    let repositoryError: string | undefined;
    if ((await iso.stat('/repodata/repomd.xml'))?.type === 'file') {
      try {
        repository = await summarizeRepository(async (p, maxBytes) => {
          const st = await iso.stat(`/${p}`);
          if (st?.type !== 'file') return undefined;
          const b = await iso.readFile(`/${p}`);
          return maxBytes !== undefined ? b.subarray(0, maxBytes) : b;
        });
      } catch (err) {
        repositoryError = (err as Error).message;
      }
    }
    let update: UpdateIsoSummary | undefined;
    let updateError: string | undefined;
    if ((await iso.stat('/update.xml'))?.type === 'file') {
      try {
        const rootNames = all.filter((f) => f.type === 'file' && f.path.lastIndexOf('/') === 0).map((f) => f.path.slice(1));
        update = await summarizeUpdate(async (p, maxBytes) => {
          const st = await iso.stat(`/${p}`);
          if (st?.type !== 'file') return undefined;
          const b = await iso.readFile(`/${p}`);
          return maxBytes !== undefined ? b.subarray(0, maxBytes) : b;
        }, rootNames);
      } catch (err) {
        updateError = (err as Error).message;
      }
    }
    const regular = all.filter((f) => f.type === 'file');
    const report: IsoReport = {
      kind: 'iso',
      path,
      imageBytes: source.size ?? 0,
      volume: {
        volumeId: pvd.volumeId,
        systemId: pvd.systemId,
        publisherId: pvd.publisherId,
        preparerId: pvd.preparerId,
        applicationId: pvd.applicationId,
        volumeSetId: pvd.volumeSetId,
        logicalBlockSize: bs,
        volumeBlocks: pvd.volumeSpaceSize,
        volumeBytes: pvd.volumeSpaceSize * bs,
        created: pvd.created?.toISOString() ?? null,
        modified: pvd.modified?.toISOString() ?? null,
      },
      names: iso.names,
      boot: catalog ? {
        catalogLba: catalog.catalogLba,
        catalogPath: catalog.catalogPath ?? null,
        validationChecksumOk: catalog.validation.checksumOk,
        entries: catalog.entries.map((e) => ({
          index: e.index,
          section: e.section,
          platform: e.platform,
          platformId: e.platformId,
          bootable: e.bootable,
          emulation: e.emulation,
          loadSegment: e.loadSegment,
          loadSectors: e.sectorCount,
          loadRba: e.loadRba,
          path: e.path ?? null,
          bootInfoTable: e.bootInfoTable ?? false,
        })),
        problems: catalog.problems,
      } : null,
      systemArea: {
        summary: sa.summary,
        mbr: {
          signatureOk: sa.mbr.signatureOk,
          partitions: await Promise.all(sa.mbr.partitions.map(async (p) => ({
            number: p.number, active: p.active, type: p.type, start: p.startLba, sectors: p.sectors, path: await pathAtSector(p.startLba),
          }))),
        },
        gpt: sa.gpt ? {
          diskGuid: sa.gpt.header.diskGuid,
          headerCrcOk: sa.gpt.header.headerCrcOk,
          entriesCrcOk: sa.gpt.entriesCrcOk,
          backupHeaderOk: sa.gpt.backupHeaderOk,
          entriesLba: sa.gpt.header.entriesLba,
          entryCount: sa.gpt.header.entryCount,
          firstUsableLba: sa.gpt.header.firstUsableLba,
          lastUsableLba: sa.gpt.header.lastUsableLba,
          backupLba: sa.gpt.header.backupLba,
          partitions: await Promise.all(sa.gpt.partitions.map(async (p) => ({
            number: p.number,
            typeGuid: p.typeGuid,
            typeName: p.typeName ?? null,
            name: p.name,
            attributes: p.attributes,
            start: p.firstLba,
            sectors: p.lastLba - p.firstLba + 1,
            path: await pathAtSector(p.firstLba),
          }))),
        } : null,
      },
      fileCount: all.length,
      fileBytes: regular.reduce((n, f) => n + f.size, 0),
      treeinfo,
      repository,
    };
    if (treeinfoError) report.treeinfoError = treeinfoError;
    if (repositoryError) report.repositoryError = repositoryError;
    if (update) report.update = update;
    if (updateError) report.updateError = updateError;
    if (opts.files !== false) {
      report.files = all.map((f) => {
        const r: IsoFileReport = {
          path: f.path,
          type: f.type,
          size: f.type === 'dir' ? 0 : f.size,
          mode: f.mode !== undefined ? modeString(f.type, f.mode) : null,
          lba: f.extentLba,
        };
        if (f.symlinkTarget !== undefined) r.symlinkTarget = f.symlinkTarget;
        return r;
      });
    }
    return report;
  } finally {
    await iso.close();
  }
}

/** Reads a `.treeinfo` file. */
export async function inspectTreeinfo(path: string): Promise<TreeinfoReport> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new XsforgeError(`cannot read ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  return { kind: 'treeinfo', path, sections: parseTreeinfo(text, path) };
}

const TREEINFO_MAX_BYTES = 1 << 20;

/** Decides by content (ISO signature at byte 0x8001, else INI text) and inspects. */
export async function inspectFile(path: string, opts: InspectOptions = {}): Promise<IsoReport | TreeinfoReport> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new XsforgeError(`cannot inspect ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  if (st.isDirectory()) throw new XsforgeError(`${path} is a directory`, 'give an ISO image or a .treeinfo file');
  const fh = await open(path, 'r');
  let head: Buffer;
  try {
    const want = Math.min(st.size, Math.max(VD_START + 6, TREEINFO_MAX_BYTES));
    head = Buffer.alloc(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await fh.read(head, got, want - got, got);
      if (!bytesRead) break;
      got += bytesRead;
    }
    head = head.subarray(0, got);
  } finally {
    await fh.close();
  }
  if (looksLikeIso(head)) return inspectIso(path, opts);
  const neither = () => new XsforgeError(
    `${path} is neither an ISO 9660 image nor a .treeinfo file`,
    "an ISO has 'CD001' at byte 32769; a .treeinfo is INI text starting with a [section] line",
  );
  if (st.size > TREEINFO_MAX_BYTES || head.includes(0)) throw neither();
  const text = head.toString('utf8');
  const firstLine = text.split(/\r?\n/).find((l) => l.trim() && !/^[#;]/.test(l));
  if (!firstLine || !/^\[[^\]]+\]\s*$/.test(firstLine)) throw neither();
  // It looks like INI: from here a parse error names the line.
  return { kind: 'treeinfo', path, sections: parseTreeinfo(text, path) };
}

// ---------------------------------------------------------------- human output

function humanBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

function table(rows: string[][], indent = '  '): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => indent + r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}

function formatSections(sections: TreeinfoSection[], indent: string): string {
  return sections.map((s) => [`${indent}[${s.name}]`, ...s.entries.map(([k, v]) => `${indent}${k} = ${v.replace(/\n/g, `\n${indent}  `)}`)].join('\n')).join('\n');
}

export function formatTreeinfoReport(report: TreeinfoReport): string {
  const n = report.sections.length;
  return `.treeinfo ${report.path} (${n} section${n === 1 ? '' : 's'})\n${formatSections(report.sections, '  ')}\n`;
}

export function formatIsoReport(r: IsoReport): string {
  const v = r.volume;
  const out: string[] = [];
  out.push(`ISO 9660 image ${r.path}: ${humanBytes(r.imageBytes)}, ${v.volumeBlocks} blocks of ${v.logicalBlockSize} bytes`);
  const namesLabel = { rockridge: 'Rock Ridge', joliet: 'Joliet', iso9660: 'ISO 9660 (no Rock Ridge or Joliet)' }[r.names];
  out.push(table([
    ['volume id', v.volumeId || '(none)'],
    ['system id', v.systemId || '(none)'],
    ['publisher', v.publisherId || '(none)'],
    ['preparer', v.preparerId || '(none)'],
    ['application', v.applicationId || '(none)'],
    ['created', v.created ?? '(unset)'],
    ['modified', v.modified ?? '(unset)'],
    ['file names', namesLabel],
  ]));
  out.push('');
  if (r.boot) {
    out.push(`El Torito boot catalog at block ${r.boot.catalogLba}${r.boot.catalogPath ? ` (${r.boot.catalogPath})` : ''}, validation checksum ${r.boot.validationChecksumOk ? 'ok' : 'WRONG'}`);
    out.push(table([
      ['#', 'platform', 'boot', 'emulation', 'load seg', 'sectors', 'LBA', 'file'],
      ...r.boot.entries.map((e) => [
        String(e.index), e.platform, e.bootable ? 'yes' : 'no', e.emulation,
        `0x${e.loadSegment.toString(16).padStart(4, '0')}`, String(e.loadSectors), String(e.loadRba),
        (e.path ?? '(no file starts there)') + (e.bootInfoTable ? '  [boot-info-table]' : ''),
      ]),
    ]));
    for (const p of r.boot.problems) out.push(`  problem: ${p}`);
  } else out.push('El Torito: none (not bootable as a CD)');
  out.push('');
  const sa = r.systemArea;
  out.push(`System area: ${sa.summary}`);
  if (sa.mbr.partitions.length) {
    out.push('  MBR partitions (512-byte sectors):');
    out.push(table([
      ['#', 'active', 'type', 'start', 'sectors', 'file'],
      ...sa.mbr.partitions.map((p) => [String(p.number), p.active ? 'yes' : 'no', `0x${p.type.toString(16).padStart(2, '0')}`, String(p.start), String(p.sectors), p.path ?? '']),
    ], '    '));
  }
  if (sa.gpt) {
    const g = sa.gpt;
    const checks = [g.headerCrcOk ? 'header CRC ok' : 'header CRC WRONG', g.entriesCrcOk ? 'entries CRC ok' : 'entries CRC WRONG', g.backupHeaderOk ? 'backup header ok' : 'backup header MISSING/BAD'];
    out.push(`  GPT disk ${g.diskGuid}: ${g.entryCount} entries at LBA ${g.entriesLba}, usable ${g.firstUsableLba}-${g.lastUsableLba}, backup at ${g.backupLba}; ${checks.join(', ')}`);
    out.push(table([
      ['#', 'type', 'start', 'sectors', 'name', 'file'],
      ...g.partitions.map((p) => [String(p.number), p.typeName ?? p.typeGuid, String(p.start), String(p.sectors), JSON.stringify(p.name), p.path ?? '']),
    ], '    '));
  }
  out.push('');
  if (r.treeinfo) out.push('.treeinfo:', formatSections(r.treeinfo, '  '), '');
  else if (r.treeinfoError) out.push(`.treeinfo: unreadable: ${r.treeinfoError}`, '');
  else out.push('.treeinfo: none', '');
  if (r.repository) {
    const repo = r.repository;
    out.push(`repository: ${repo.packages} packages, metadata ${repo.metadataSigned ? 'signed' : 'unsigned'}, packages signed: ${repo.packagesSigned}${repo.signingKeyIds.length ? `, key ${repo.signingKeyIds.join(', ')}` : ''}`);
    for (const g of repo.groups) out.push(`  group ${g.id}: ${g.packages.join(', ')}`);
    out.push('');
  } else if (r.repositoryError) out.push(`repository: unreadable: ${r.repositoryError}`, '');
  else out.push('repository: none', '');
  if (r.update) out.push(...formatUpdateSummary(r.update), '');
  else if (r.updateError) out.push(`update: unreadable: ${r.updateError}`, '');
  out.push(`Files: ${r.fileCount} entries, ${humanBytes(r.fileBytes)} in regular files`);
  if (r.files) {
    out.push(table([
      ['mode', 'size', 'LBA', 'path'],
      ...r.files.map((f) => [
        f.mode ?? (f.type === 'dir' ? 'd' : '-'),
        f.type === 'dir' ? '' : String(f.size),
        String(f.lba),
        f.path + (f.symlinkTarget !== undefined ? ` -> ${f.symlinkTarget}` : ''),
      ]),
    ]));
  }
  return `${out.join('\n')}\n`;
}

export function formatReport(report: IsoReport | TreeinfoReport): string {
  return report.kind === 'iso' ? formatIsoReport(report) : formatTreeinfoReport(report);
}
