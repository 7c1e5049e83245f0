// Shared by the e2e install tests: a loopback HTTP server that serves answer files
// and scripts (the installer reaches it as 10.0.2.2), an install ISO whose default
// menu entry points at it, and blank sparse disks.
import { createServer, type Server } from 'node:http';
import { closeSync, createReadStream, existsSync, ftruncateSync, openSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { DEFAULT_RECIPE } from '../../cli/shared.ts';
import { buildRecipe } from './build.ts';

// fixed, so the ISO (whose menu names the URL) stays cached between runs and files
export const ANSWER_PORT = 47811;
export const GUEST_HOST_URL = `http://10.0.2.2:${ANSWER_PORT}`;
/** The e2e hosts' NIC (one MAC: the bridge takes it, DHCP leases follow it). */
export const NIC_DEVICE = 'virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56';
export const NIC_ARGS = ['-netdev', 'user,id=n0', '-device', NIC_DEVICE];
export const TEST_ROOT_HASH = '$6$xsforgetest$Qf0fWnNf5a0d8kOZp7ZfK1m8y3mQk3mXGvK1xvA4GdPp0Kq4wqRkQqgk0eKmFQdW2l0w2bWZp4wQb6uT1eYxk.';

export function freshAnswer(hostname: string, extra = ''): string {
  return `<?xml version="1.0"?>
<installation mode="fresh" srtype="lvm">
  <primary-disk guest-storage="yes">sda</primary-disk>
  <keymap>us</keymap>
  <root-password type="hash">${TEST_ROOT_HASH}</root-password>
  <source type="local"/>
  <admin-interface name="eth0" proto="dhcp"/>
  <hostname>${hostname}</hostname>
  <timezone>Europe/London</timezone>
  <ntp-server>10.0.2.2</ntp-server>
${extra}</installation>
`;
}

/**
 * Serves `served` by path, and the files below each directory of `servedDirs`
 * under its URL prefix (e.g. '/packs/' → a directory: update media, binary);
 * every request path (with query) is appended to `requests`.
 */
export class AnswerServer {
  readonly served = new Map<string, string>();
  readonly servedDirs = new Map<string, string>();
  readonly requests: string[] = [];
  private server?: Server;

  private fileFor(path: string): string | undefined {
    for (const [prefix, dir] of this.servedDirs) {
      if (!path.startsWith(prefix)) continue;
      const rel = normalize(decodeURIComponent(path.slice(prefix.length)));
      if (rel.startsWith('..') || isAbsolute(rel)) return undefined;
      const file = join(dir, rel);
      if (existsSync(file) && statSync(file).isFile()) return file;
    }
    return undefined;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const url = req.url ?? '';
      this.requests.push(url);
      const path = url.split('?')[0];
      const body = this.served.get(path);
      if (body === undefined) {
        const file = this.fileFor(path);
        if (!file) { res.writeHead(404).end(); return; }
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': statSync(file).size });
        createReadStream(file).pipe(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) }).end(body);
    });
    await new Promise<void>((r, j) => { this.server!.once('error', j); this.server!.listen(ANSWER_PORT, '127.0.0.1', r); });
  }

  stop(): void {
    this.server?.close();
  }
}

/**
 * Build the default recipe with an unattended default entry: `install
 * answerfile=<server>/answer.xml atexit=poweroff` plus `extraArgs` (e.g. disable-gpt).
 */
/** The recipe of an unattended-install ISO (answer file from GUEST_HOST_URL, power off at the end), written to work/<name>.yaml. */
export function writeInstallRecipe(work: string, name: string, extraArgs: string[] = [], opts: InstallRecipeOptions = {}): string {
  const recipe = join(work, `${name}.yaml`);
  const args = ['install', `"answerfile=${GUEST_HOST_URL}/answer.xml"`, 'atexit=poweroff', ...extraArgs];
  const xen = opts.dom0Mem ? `  xen:\n    dom0_mem: ${opts.dom0Mem}\n` : '';
  // the compiled-in default must agree with the boot line (recipes/load.ts refuses a mismatch)
  const hypervisor = opts.dom0Mem ? `hypervisor:\n  config:\n    CONFIG_DOM0_MEM: ${opts.dom0Mem}\n` : '';
  writeFileSync(recipe, `extends: ${opts.base ?? DEFAULT_RECIPE}\nname: ${name}\nboot:\n  timeout: 10\n${xen}  dom0:\n    extra: [${args.join(', ')}]\n${hypervisor}${opts.yaml ?? ''}`);
  return recipe;
}

export interface InstallRecipeOptions {
  /** the recipe the install recipe extends (default: the default product) */
  base?: string;
  /** boot.xen.dom0_mem (and the hypervisor's CONFIG_DOM0_MEM to match): Xen is compiled once more for it */
  dom0Mem?: string;
  /** more top-level YAML */
  yaml?: string;
}

/**
 * dom0 memory of the e2e install hosts: not the default recipe's 1024M, so that
 * the installed host's GRUB entry and `xl info` show the recipe's value reached
 * the host. One more Xen compile (about 4 min, cached), shared by every file that
 * builds the `e2e-install` ISO.
 */
export const E2E_DOM0_MEM = '1536M,max:1536M';

export async function buildInstallIso(work: string, name: string, extraArgs: string[] = [], opts: InstallRecipeOptions = {}): Promise<string> {
  const recipe = writeInstallRecipe(work, name, extraArgs, opts);
  return (await buildRecipe(recipe, { output: join(work, `out-${name}`) })).iso;
}

export function sparseDisk(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, bytes);
  closeSync(fd);
}
