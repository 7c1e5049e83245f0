// Our GPT/MBR writer on sparse image files, checked by the tools the product
// itself uses: `sgdisk -v` must find no problems, and `sgdisk -p` and
// `sfdisk -d` must report every partition exactly as planned.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { run } from '../../core/exec.ts';
import { SGDISK_CODE, TYPE_GUID, planLayout, type LayoutPlan, type LayoutRequest } from '../../disk/layout.ts';
import { guidFromSeed } from '../../disk/guid.ts';
import { writeGpt } from '../../disk/gpt.ts';
import { readTableFromImage, writeTableToImage } from '../../disk/write-table.ts';
import { register } from '../../cli/commands/layout.ts';

const dir = mkdtempSync(join(tmpdir(), 'xsforge-gpt-writer-'));
const GiB = 2 ** 30;
let n = 0;

async function sparse(bytes: number): Promise<string> {
  const path = join(dir, `disk${n++}.img`);
  writeFileSync(path, '');
  await truncate(path, bytes);
  return path;
}

function request(image: string, bytes: number, extra: Partial<LayoutRequest> & Pick<LayoutRequest, 'scheme'>): LayoutRequest {
  return { diskSectors: bytes / 512, diskName: image, guestStorage: true, uefi: false, labelSuffix: 'abcdef', guidSeed: `seed-${image}`, ...extra };
}

interface SgdiskRow { number: number; start: number; end: number; code: string; name: string }

async function sgdiskPrint(image: string): Promise<{ rows: SgdiskRow[]; text: string }> {
  const { stdout } = await run(['sgdisk', '-p', image]);
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => /^Number\s+Start \(sector\)\s+End \(sector\)\s+Size\s+Code\s+Name/.test(l));
  assert.ok(at >= 0, `no partition header in sgdisk -p output:\n${stdout}`);
  const rows = lines.slice(at + 1).filter((l) => l.trim()).map((l) => {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+\s+\S+)\s+([0-9A-F]{4})\s*(.*)$/.exec(l);
    assert.ok(m, `cannot parse sgdisk line '${l}'`);
    return { number: Number(m![1]), start: Number(m![2]), end: Number(m![3]), code: m![5], name: m![6].trimEnd() };
  });
  return { rows, text: stdout };
}

async function sgdiskVerify(image: string): Promise<void> {
  const { stdout } = await run(['sgdisk', '-v', image]);
  assert.match(stdout, /No problems found/, `sgdisk -v ${image}:\n${stdout}`);
  assert.not.match(stdout, /Problem:/);
}

interface SfdiskDump { header: Record<string, string>; parts: { node: string; fields: Record<string, string> }[] }

async function sfdiskDump(image: string): Promise<SfdiskDump> {
  const { stdout } = await run(['sfdisk', '-d', image]);
  const header: Record<string, string> = {};
  const parts: SfdiskDump['parts'] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const p = /^(\S+) : (.*)$/.exec(line);
    if (p) {
      const fields: Record<string, string> = {};
      for (const item of p[2].split(/,\s*/)) {
        const [k, ...v] = item.split('=');
        fields[k.trim()] = v.join('=').trim().replace(/^"(.*)"$/, '$1');
      }
      parts.push({ node: p[1], fields });
    } else {
      const h = /^([\w-]+):\s*(.*)$/.exec(line);
      if (h) header[h[1]] = h[2];
    }
  }
  return { header, parts };
}

function byNumber(plan: LayoutPlan) {
  return [...plan.partitions].sort((a, b) => a.number - b.number);
}

/** Every GPT partition of the plan, sector for sector, in sgdisk -p and sfdisk -d. */
async function checkGpt(image: string, plan: LayoutPlan): Promise<void> {
  await sgdiskVerify(image);
  const { rows, text } = await sgdiskPrint(image);
  assert.match(text, new RegExp(`Disk identifier \\(GUID\\): ${plan.diskGuid}`));
  assert.match(text, new RegExp(`First usable sector is 34, last usable sector is ${plan.diskSectors - 34}\\b`));
  assert.equal(rows, byNumber(plan).map((p) => ({
    number: p.number, start: p.firstSector, end: p.lastSector, code: SGDISK_CODE[p.typeGuid!], name: p.name ?? '',
  })));

  const dump = await sfdiskDump(image);
  assert.is(dump.header.label, 'gpt');
  assert.is(dump.header['label-id'], plan.diskGuid);
  assert.is(dump.header['last-lba'], String(plan.diskSectors - 34));
  const got = dump.parts.map((p) => ({
    number: Number(/(\d+)$/.exec(p.node)![1]),
    start: Number(p.fields.start), size: Number(p.fields.size), type: p.fields.type, uuid: p.fields.uuid,
    name: p.fields.name ?? '', attrs: p.fields.attrs ?? '',
  }));
  assert.equal(got, byNumber(plan).map((p) => ({
    number: p.number, start: p.firstSector, size: p.sectorCount, type: p.typeGuid, uuid: p.uniqueGuid,
    name: p.name ?? '', attrs: p.active ? 'LegacyBIOSBootable' : '',
  })));
}

/** Every DOS partition of the plan in sfdisk -d (start, size, Id, bootable). */
async function checkDos(image: string, plan: LayoutPlan): Promise<void> {
  const dump = await sfdiskDump(image);
  assert.is(dump.header.label, 'dos');
  assert.is(dump.header['label-id'], `0x${plan.diskSignature!.toString(16).padStart(8, '0')}`);
  const got = dump.parts.map((p) => ({
    number: Number(/(\d+)$/.exec(p.node)![1]), start: Number(p.fields.start), size: Number(p.fields.size),
    id: parseInt(p.fields.type, 16), bootable: 'bootable' in p.fields,
  }));
  assert.equal(got, byNumber(plan).map((p) => ({ number: p.number, start: p.firstSector, size: p.sectorCount, id: p.dosId, bootable: p.active === true })));
  const { stdout } = await run(['sfdisk', '-V', image]);
  assert.match(stdout, /No errors detected/);
}

async function planAndWrite(bytes: number, extra: Partial<LayoutRequest> & Pick<LayoutRequest, 'scheme'>): Promise<{ image: string; plan: LayoutPlan }> {
  const image = await sparse(bytes);
  const plan = planLayout(request(image, bytes, extra));
  await writeTableToImage(image, plan);
  return { image, plan };
}

test('new GPT layout, 60 GB, BIOS: sgdisk and sfdisk agree with the plan', async () => {
  const { image, plan } = await planAndWrite(60e9, { scheme: 'gpt' });
  assert.equal(plan.partitions.map((p) => p.number), [5, 2, 1, 4, 6, 3]);
  await checkGpt(image, plan);
  assert.ok(statSync(image).blocks * 512 < 1024 * 1024, 'image stays sparse');
});

test('new GPT layout, 46 GiB, no SR, UEFI', async () => {
  const { image, plan } = await planAndWrite(46 * GiB, { scheme: 'gpt', guestStorage: false, uefi: true });
  assert.equal(plan.partitions.map((p) => p.number), [5, 2, 1, 3, 6]);
  await checkGpt(image, plan);
});

test('new GPT layout, 2 TB, UEFI: past 2^32 sectors', async () => {
  const { image, plan } = await planAndWrite(2e12, { scheme: 'gpt', uefi: true });
  assert.ok(plan.partitions.at(-1)!.lastSector > 2 ** 31);
  await checkGpt(image, plan);
});

test('old GPT layout, 60 GB', async () => {
  const { image, plan } = await planAndWrite(60e9, { scheme: 'old-gpt' });
  await checkGpt(image, plan);
});

test('GPT utility partition read back from the image is kept at 1, the rest shifts up', async () => {
  const bytes = 100e9;
  const image = await sparse(bytes);
  const sectors = bytes / 512;
  const vendor = writeGpt({ diskSectors: sectors, diskGuid: guidFromSeed('vendor', 'disk'), partitions: [
    { number: 1, firstSector: 2048, lastSector: 2048 + 65535, typeGuid: TYPE_GUID.esp, uniqueGuid: guidFromSeed('vendor', '1'), name: 'DELLUTILITY' },
    { number: 2, firstSector: 67584, lastSector: 999999, typeGuid: TYPE_GUID.basicData, uniqueGuid: guidFromSeed('vendor', '2'), name: 'old data' },
  ] });
  const fh = await open(image, 'r+');
  await fh.write(vendor.primary, 0, vendor.primary.length, 0);
  await fh.write(vendor.backup, 0, vendor.backup.length, vendor.backupOffset);
  await fh.close();

  const current = await readTableFromImage(image);
  assert.is(current.tableType, 'gpt');
  assert.ok(current.gptBackup?.header.headerCrcOk);
  const plan = planLayout({ ...request(image, bytes, { scheme: 'gpt' }), existing: current.existing, existingTableType: 'gpt' });
  assert.equal(plan.partitions.map((p) => p.number), [1, 6, 3, 2, 5, 7, 4]);
  assert.is(plan.partitions[0].uniqueGuid, guidFromSeed('vendor', '1'), 'kept partition keeps its GUID');
  await writeTableToImage(image, plan);
  await checkGpt(image, plan);
  const { rows } = await sgdiskPrint(image);
  assert.is(rows[0].name, 'DELLUTILITY');
  assert.is(rows.find((r) => r.number === 6)!.start, 2048 + 65536, 'logs (6) start right after partition 1');
  assert.is(rows.find((r) => r.number === 2)!.start, 2048 + 65536 + 8388608 + 37748736, 'root (2) after logs and backup');
});

test('DOS layout, 20 GiB: sfdisk -d sector for sector, sgdisk -v clean', async () => {
  const { image, plan } = await planAndWrite(20 * GiB, { scheme: 'dos' });
  await checkDos(image, plan);
  const { stdout } = await run(['sgdisk', '-v', image]);
  assert.match(stdout, /No problems found/);
});

test('DOS layout, 4 TB: capped below 0xffe00000 sectors', async () => {
  const { image, plan } = await planAndWrite(4e12, { scheme: 'dos' });
  assert.ok(plan.partitions.at(-1)!.lastSector < 0xffe00000);
  await checkDos(image, plan);
});

test('DOS utility partition (0xDE) kept: root 2 active, backup 3, SR 4', async () => {
  const bytes = 30 * GiB;
  const { image, plan } = await planAndWrite(bytes, { scheme: 'dos', existing: [{ number: 1, firstSector: 63, sectorCount: 65536, dosId: 0xde, active: true }] });
  assert.equal(plan.partitions.map((p) => [p.number, p.role]), [[1, 'utility'], [2, 'root'], [3, 'backup'], [4, 'sr']]);
  await checkDos(image, plan);
});

test('a DOS table over a GPT image clears the old GPT headers', async () => {
  const bytes = 50 * GiB;
  const image = await sparse(bytes);
  await writeTableToImage(image, planLayout(request(image, bytes, { scheme: 'gpt' })));
  const plan = planLayout(request(image, bytes, { scheme: 'dos', preserveFirstPartition: 'false' }));
  const written = await writeTableToImage(image, plan);
  assert.equal(written.clearedGptHeaders, [1, bytes / 512 - 1]);
  await checkDos(image, plan);
  assert.is((await readTableFromImage(image)).tableType, 'dos');
});

async function cli(args: string[]): Promise<string> {
  const program = new Command('xsforge').exitOverride();
  register(program);
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => { out += chunk.toString(); return true; }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'xsforge', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

test('CLI: layout write --create-size makes a sparse image whose table sgdisk reports as planned', async () => {
  const image = join(dir, 'cli.img');
  const json = JSON.parse(await cli(['layout', 'write', image, '--create-size', '60GB', '--uefi', '--label-suffix', 'qwerty', '--guid-seed', 'cli', '--json']));
  assert.is(statSync(image).size, 60e9);
  const plan = json.plan as LayoutPlan;
  assert.is(plan.partitions.find((p) => p.role === 'boot')!.label, 'BOOT-QWERTY');
  await checkGpt(image, plan);
  // the same plan from `layout plan`
  const planned = JSON.parse(await cli(['layout', 'plan', '--disk-size', '60GB', '--uefi', '--label-suffix', 'qwerty', '--guid-seed', 'cli', '--disk-name', image, '--json']));
  assert.equal(planned, plan);
  const text = await cli(['layout', 'plan', '--disk-size', '20G', '--scheme', 'dos']);
  assert.match(text, /DOS table, dos layout/);
  assert.match(text, /\n1\s+root\s+63\s+8388670\s+8388608\s+4096\s+0x83\s+ext3\s+root-<sfx>\s+bootable/);
  let refused = '';
  try {
    await cli(['layout', 'write', image, '--create-size', '60GB']);
  } catch (err) {
    refused = (err as Error).message;
  }
  assert.match(refused, /already exists/, '--create-size never overwrites an image');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
