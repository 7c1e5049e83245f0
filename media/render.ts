// Renders the boot menu model into isolinux.cfg / grub.cfg (handlebars templates
// in media/templates). Pure apart from reading the templates once. One boot entry
// is one partial (templates/partials), shared by the ISO menus and the network
// boot files (netboot/), so every rendering of an entry has the same shape.
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BootMenu } from './menu.ts';

export const TEMPLATE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'templates');

export interface BootPaths {
  xen: string;
  kernel: string;
  initrd: string;
}

export interface MenuIdentity {
  brand: string;
  version: string;
  build: string;
}

/** Partials every menu template may use: one boot entry in each boot loader's syntax. */
export const PARTIALS = ['syslinux-entry', 'grub-entry'] as const;

/**
 * One word of a GRUB script command line. GRUB splits on blanks and treats
 * ; | & $ # quotes and braces specially (network_config=static:ip=..;netmask=..
 * would end the command at ';'), so such words go in single quotes, which GRUB
 * removes before multiboot2/module2 see the argument.
 */
export function grubWord(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

const hb = Handlebars.create();
hb.registerHelper('join', (args: string[]) => new hb.SafeString(args.join(' ')));
hb.registerHelper('grubArgs', (args: string[]) => new hb.SafeString(args.map(grubWord).join(' ')));
// A menu title always in single quotes (as before), a quote in it closed and escaped: a
// brand like X'; reboot; echo ' would otherwise end the title and run as GRUB commands.
hb.registerHelper('grubQuoted', (text: string) => new hb.SafeString(`'${text.replace(/'/g, `'\\''`)}'`));
const compiled = new Map<string, HandlebarsTemplateDelegate>();

export function templatePath(name: string): string {
  return join(TEMPLATE_DIR, `${name}.hbs`);
}

export function partialPath(name: (typeof PARTIALS)[number]): string {
  return join(TEMPLATE_DIR, 'partials', `${name}.hbs`);
}

let partialsRegistered = false;

function compileFile(file: string): HandlebarsTemplateDelegate {
  let t = compiled.get(file);
  if (!t) {
    if (!partialsRegistered) {
      for (const p of PARTIALS) hb.registerPartial(p, readFileSync(partialPath(p), 'utf8'));
      partialsRegistered = true;
    }
    t = hb.compile(readFileSync(file, 'utf8'), { noEscape: true, strict: true });
    compiled.set(file, t);
  }
  return t;
}

function template(name: string): HandlebarsTemplateDelegate {
  return compileFile(templatePath(name));
}

/** Renders a template file kept elsewhere (netboot/templates) with the same helpers and entry partials. */
export function renderTemplateFile(file: string, context: object): string {
  return compileFile(file)(context);
}

/** What every menu template sees: the menu, the product identity, the paths, and derived values. */
export function menuContext(menu: BootMenu, paths: BootPaths, id: MenuIdentity) {
  const defaultIndex = menu.entries.findIndex((e) => e.label === menu.defaultLabel);
  return {
    ...menu, ...id, paths,
    defaultIndex: Math.max(0, defaultIndex),
    // isolinux counts tenths of a second; grub counts seconds (0 would mean "boot at once", keep at least 1 unless 0 = wait)
    timeoutSeconds: menu.timeout === 0 ? -1 : Math.max(1, Math.round(menu.timeout / 10)),
  };
}

export function renderMenu(name: 'isolinux.cfg' | 'grub.cfg', menu: BootMenu, paths: BootPaths, id: MenuIdentity): string {
  return template(name)(menuContext(menu, paths, id));
}
