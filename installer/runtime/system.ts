// What the installer reads from the running system: the kernel command line, the
// product identity baked into install.img, disks and NICs from sysfs. Every path
// can be redirected so the runtime can be exercised on a build host against a
// made-up sysfs tree (see SystemPaths / pathsFromEnv).
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface SystemPaths {
  /** file holding the kernel command line */
  procCmdline: string;
  /** command line text given directly (wins over procCmdline) */
  cmdlineText?: string;
  /** root of sysfs (`/sys`) */
  sysRoot: string;
  /** directory holding console device nodes (`/dev`) */
  devRoot: string;
  /** product identity written into install.img by the build */
  productJson: string;
  /** where the chosen exit action is left for /init */
  atexitFile: string;
}

export const DEFAULT_PATHS: SystemPaths = {
  procCmdline: '/proc/cmdline',
  sysRoot: '/sys',
  devRoot: '/dev',
  productJson: '/opt/xsforge/product.json',
  atexitFile: '/run/xsforge/atexit',
};

/** DEFAULT_PATHS overridden by XSFORGE_CMDLINE, XSFORGE_PROC_CMDLINE, XSFORGE_SYS_ROOT, XSFORGE_DEV_ROOT, XSFORGE_PRODUCT_JSON, XSFORGE_ATEXIT_FILE. */
export function pathsFromEnv(env: NodeJS.ProcessEnv = process.env): SystemPaths {
  return {
    procCmdline: env.XSFORGE_PROC_CMDLINE ?? DEFAULT_PATHS.procCmdline,
    cmdlineText: env.XSFORGE_CMDLINE,
    sysRoot: env.XSFORGE_SYS_ROOT ?? DEFAULT_PATHS.sysRoot,
    devRoot: env.XSFORGE_DEV_ROOT ?? DEFAULT_PATHS.devRoot,
    productJson: env.XSFORGE_PRODUCT_JSON ?? DEFAULT_PATHS.productJson,
    atexitFile: env.XSFORGE_ATEXIT_FILE ?? DEFAULT_PATHS.atexitFile,
  };
}

export function readCmdlineText(p: SystemPaths): string {
  if (p.cmdlineText !== undefined) return p.cmdlineText;
  return readFileSync(p.procCmdline, 'utf8').trim();
}

export interface ProductIdentity {
  brand: string;
  /** the release being installed: from the install source's .treeinfo (install.img carries no version, so one installer serves every release of the line) */
  version: string;
  build_number: string;
  platform: { name: string; version: string };
}

/** install.img's own product.json: the brand and platform (a version there, from older images, is the fallback). */
export function readProduct(p: SystemPaths): ProductIdentity {
  const v = JSON.parse(readFileSync(p.productJson, 'utf8')) as Partial<ProductIdentity>;
  if (typeof v.brand !== 'string' || !v.brand) throw new Error(`${p.productJson}: field "brand" is missing`);
  return {
    brand: v.brand,
    version: typeof v.version === 'string' ? v.version : '',
    build_number: typeof v.build_number === 'string' ? v.build_number : '',
    platform: { name: v.platform?.name ?? '', version: v.platform?.version ?? '' },
  };
}

export interface BlockDevice {
  /** kernel name, e.g. sda, nvme0n1, sr0 */
  name: string;
  /** device node, e.g. /dev/sda */
  path: string;
  sizeBytes: number;
  /** logical sector size in bytes (queue/logical_block_size) */
  sectorSize: number;
  vendor?: string;
  model?: string;
  removable: boolean;
  readOnly: boolean;
}

/** Devices that are never install targets or sources. */
const SKIP_BLOCK = /^(loop|ram|zram|nbd|fd|dm-|md)\d*/;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Disks (possible install targets) and optical drives (possible install sources). */
export function listBlockDevices(p: SystemPaths): { disks: BlockDevice[]; optical: BlockDevice[] } {
  const disks: BlockDevice[] = [];
  const optical: BlockDevice[] = [];
  const dir = join(p.sysRoot, 'block');
  if (!existsSync(dir)) return { disks, optical };
  for (const name of readdirSync(dir).sort()) {
    if (SKIP_BLOCK.test(name)) continue;
    const { device: dev, isOptical } = readBlockDevice(dir, name);
    if (isOptical) optical.push(dev);
    else if (dev.sizeBytes > 0) disks.push(dev); // empty card readers and unattached slots
  }
  return { disks, optical };
}

/** One whole disk, e.g. a loop device that listBlockDevices leaves out (tests: --extra-disk). */
export function blockDeviceByPath(p: SystemPaths, devPath: string): BlockDevice {
  const name = basename(devPath);
  const dir = join(p.sysRoot, 'block');
  if (!existsSync(join(dir, name))) throw new Error(`${devPath}: no ${join(dir, name)}; is it a whole disk?`);
  return { ...readBlockDevice(dir, name).device, path: devPath };
}

function readBlockDevice(dir: string, name: string): { device: BlockDevice; isOptical: boolean } {
  const base = join(dir, name);
  const sectors = Number(readText(join(base, 'size')) ?? '0');
  // sysfs reports sizes in 512-byte units whatever the logical block size
  const sizeBytes = Number.isFinite(sectors) ? sectors * 512 : 0;
  const scsiType = readText(join(base, 'device', 'type'));
  const isOptical = /^sr\d+$/.test(name) || scsiType === '5';
  const vendor = cleanId(readText(join(base, 'device', 'vendor')));
  const model = cleanId(readText(join(base, 'device', 'model')));
  const logical = Number(readText(join(base, 'queue', 'logical_block_size')));
  const dev: BlockDevice = {
    name,
    path: `/dev/${name.replace(/!/g, '/')}`,
    sizeBytes,
    sectorSize: Number.isInteger(logical) && logical > 0 ? logical : 512,
    ...(vendor ? { vendor } : {}),
    ...(model ? { model } : {}),
    removable: readText(join(base, 'removable')) === '1',
    readOnly: readText(join(base, 'ro')) === '1',
  };
  return { device: dev, isOptical };
}

/** Vendor/model strings; numeric bus ids (virtio's "0x1af4") say nothing to a person. */
function cleanId(s: string | undefined): string | undefined {
  if (!s || /^0x[0-9a-f]+$/i.test(s)) return undefined;
  return s.replace(/\s+/g, ' ');
}

export interface Nic {
  name: string;
  mac: string;
  driver?: string;
  /** operstate: up, down, unknown, ... */
  state: string;
  /** carrier detected; undefined when the interface is down (the kernel refuses to say) */
  carrier?: boolean;
  speedMbps?: number;
}

/** Physical NICs (those backed by a device); lo, bridges, tunnels and the like are left out. */
export function listNics(p: SystemPaths): Nic[] {
  const dir = join(p.sysRoot, 'class', 'net');
  if (!existsSync(dir)) return [];
  const nics: Nic[] = [];
  for (const name of readdirSync(dir).sort()) {
    const base = join(dir, name);
    if (name === 'lo' || !existsSync(join(base, 'device'))) continue;
    let driver: string | undefined;
    try {
      driver = basename(readlinkSync(join(base, 'device', 'driver')));
    } catch { /* no driver bound */ }
    const carrier = readText(join(base, 'carrier'));
    const speed = Number(readText(join(base, 'speed')));
    nics.push({
      name,
      mac: (readText(join(base, 'address')) ?? '').toLowerCase(),
      ...(driver ? { driver } : {}),
      state: readText(join(base, 'operstate')) ?? 'unknown',
      ...(carrier === '1' || carrier === '0' ? { carrier: carrier === '1' } : {}),
      ...(Number.isFinite(speed) && speed > 0 ? { speedMbps: speed } : {}),
    });
  }
  return nics;
}

export function writeAtexit(p: SystemPaths, action: string): void {
  mkdirSync(dirname(p.atexitFile), { recursive: true });
  writeFileSync(p.atexitFile, action + '\n');
}
