// The GRUB EFI image for UEFI network boot. The ISO's image (media/stages.ts
// efiImageStage) cannot do it: it has no network drivers and its embedded config
// searches for the medium. This one adds efinet (the firmware's network
// protocol), net, tftp and http, and has no embedded config: built with the prefix
// /EFI/xenserver and no device, GRUB puts the device it was loaded from in front
// ((tftp,<server>)/EFI/xenserver after a PXE boot) and normal mode reads
// $prefix/grub.cfg from there: the file grubNetConfig writes.
import { join } from 'node:path';
import { run, type ExecOptions, type ExecResult } from '../core/exec.ts';
import { defineStage, type Stage } from '../core/stage.ts';
import { GRUB_EFI_MODULES } from '../media/stages.ts';

/** Where grub.cfg and the image sit on the TFTP server (the seed's layout, seed:3200). */
export const GRUB_NET_PREFIX = '/EFI/xenserver';

export const GRUB_NET_MODULES = [...GRUB_EFI_MODULES, 'efinet', 'net', 'tftp', 'http'];

/** grub-mkimage's command line; `moduleDir` is usr/lib/grub/x86_64-efi (the boot-files stage's grub-x86_64-efi). */
export function grubNetImageArgs(moduleDir: string, output: string, prefix = GRUB_NET_PREFIX): string[] {
  return ['grub-mkimage', '-O', 'x86_64-efi', '-d', moduleDir, '-p', prefix, '-o', output, ...GRUB_NET_MODULES];
}

export type Runner = (argv: string[], opts?: ExecOptions) => Promise<ExecResult>;

/** Builds the image with grub-mkimage (its output is the same for the same modules and prefix). */
export async function buildGrubNetImage(moduleDir: string, output: string, runner: Runner = run): Promise<string> {
  await runner(grubNetImageArgs(moduleDir, output));
  return output;
}

/** Stage: grubx64.efi for network boot, from the boot-files stage's GRUB modules. */
export function grubNetImageStage(bootFiles: Stage<any>): Stage<any> {
  return defineStage({
    name: 'grub-net-image',
    version: 1,
    options: { modules: GRUB_NET_MODULES, prefix: GRUB_NET_PREFIX },
    deps: { bootFiles },
    tools: ['grub-mkimage'],
    artifacts: { 'grubx64.efi': { path: 'grubx64.efi', kind: 'efi-net-loader' } },
    async run(ctx) {
      await buildGrubNetImage(join(ctx.dep('bootFiles'), 'grub-x86_64-efi'), join(ctx.out, 'grubx64.efi'), ctx.run);
    },
  });
}
