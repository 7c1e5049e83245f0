// Renders the boot menu model into isolinux.cfg / grub.cfg (handlebars templates
// in media/templates). Pure apart from reading the templates once.
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

const hb = Handlebars.create();
hb.registerHelper('join', (args: string[]) => new hb.SafeString(args.join(' ')));
const compiled = new Map<string, HandlebarsTemplateDelegate>();

export function templatePath(name: string): string {
  return join(TEMPLATE_DIR, `${name}.hbs`);
}

function template(name: string): HandlebarsTemplateDelegate {
  let t = compiled.get(name);
  if (!t) {
    t = hb.compile(readFileSync(templatePath(name), 'utf8'), { noEscape: true, strict: true });
    compiled.set(name, t);
  }
  return t;
}

export function renderMenu(name: 'isolinux.cfg' | 'grub.cfg', menu: BootMenu, paths: BootPaths, id: MenuIdentity): string {
  const defaultIndex = menu.entries.findIndex((e) => e.label === menu.defaultLabel);
  return template(name)({
    ...menu, ...id, paths,
    defaultIndex: Math.max(0, defaultIndex),
    // isolinux counts tenths of a second; grub counts seconds (0 would mean "boot at once", keep at least 1 unless 0 = wait)
    timeoutSeconds: menu.timeout === 0 ? -1 : Math.max(1, Math.round(menu.timeout / 10)),
  });
}
