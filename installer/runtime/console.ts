// Console clones: the installer writes to every console named by `console=` so a
// host with only a serial line (or only a screen) sees the same thing. Input, when
// the interactive installer needs it, comes from the last one (as in XenServer).
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Device names for `console=` values, in order, without duplicates:
 * `hvc0` → hvc0, `ttyS0,115200n8` → ttyS0, `tty0` → tty0. Values that name no
 * character device (`null`, paths, empty) are dropped. Pure.
 */
export function consoleDeviceNames(consoles: string[]): string[] {
  const out: string[] = [];
  for (const c of consoles) {
    const name = c.split(',')[0];
    if (!/^[a-zA-Z]+[a-zA-Z0-9]*$/.test(name) || name === 'null') continue;
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

export interface ConsoleTarget {
  name: string;
  path: string;
  fd: number;
}

export class Consoles {
  readonly targets: ConsoleTarget[] = [];
  /** console named last on the command line that could be opened: where input will come from */
  readonly inputPath: string;

  /**
   * Open every named console under `devRoot` that exists; if none do, `/dev/console`.
   * `alsoStdout` copies everything to this process's stdout (tests, debugging).
   */
  constructor(devRoot: string, consoles: string[], private readonly alsoStdout = false) {
    for (const name of consoleDeviceNames(consoles)) {
      const path = join(devRoot, name);
      if (!existsSync(path)) continue;
      try {
        this.targets.push({ name, path, fd: openSync(path, 'a') });
      } catch { /* present but unusable (no such hardware behind the node) */ }
    }
    if (this.targets.length === 0) {
      const path = join(devRoot, 'console');
      try {
        this.targets.push({ name: 'console', path, fd: openSync(path, 'a') });
      } catch { /* nothing to write to but stdout */ }
    }
    this.inputPath = this.targets.at(-1)?.path ?? '/dev/console';
  }

  /** Write a line (or several) to every console, synchronously, so order is kept on exit. */
  line(text = ''): void {
    const bytes = Buffer.from(text.endsWith('\n') ? text : text + '\n');
    for (const t of this.targets) {
      try {
        writeSync(t.fd, bytes);
      } catch { /* a console that fails (hung-up serial) must not stop the others */ }
    }
    if (this.alsoStdout) writeSync(1, bytes);
  }

  close(): void {
    for (const t of this.targets) {
      try { closeSync(t.fd); } catch { /* already gone */ }
    }
    this.targets.length = 0;
  }
}
