// A root shell on a booted host's serial console (hvc0 under Xen): log in and
// run commands, reading each one's exit status from a unique marker.
import * as assert from 'uvu/assert';
import type { Vm } from '../../testbed/qemu.ts';

/**
 * Log in as root and wait for the shell prompt. getty can drop what is typed
 * while it (re)starts on the console, so the user name is typed again (after
 * an empty line for a fresh prompt) when no `Password:` follows within 30 s.
 */
export async function loginAsRoot(vm: Vm, hostname: string, password: string, attempts = 5): Promise<void> {
  let from = vm.serialText().length;
  for (let i = 1; ; i++) {
    await vm.sendLine('root');
    try {
      const p = await vm.waitFor(/Password:/, 30_000, { from });
      from = p.index;
      break;
    } catch (e) {
      if (i >= attempts || vm.exited) throw e;
      from = vm.serialText().length;
      await vm.sendLine('');
      await vm.waitFor(new RegExp(`${hostname} login:`), 60_000, { from }).catch(() => undefined);
      from = vm.serialText().length;
    }
  }
  await vm.sendLine(password);
  await vm.waitFor(new RegExp(`root@${hostname}:~# `), 180_000, { from });
  // a wide terminal: readline would otherwise wrap long typed lines with control characters in them
  assert.is((await hostShell(vm, 'stty cols 250')).rc, 0);
}

let marker = 0;
/**
 * Type `command` followed by `; echo <unique marker>=$?` and wait for the marker
 * with the exit status; returns the status and what the command printed.
 */
export async function hostShell(vm: Vm, command: string, timeoutMs = 600_000): Promise<{ rc: number; out: string }> {
  const id = `XSF-RC-${++marker}-${Date.now() % 100000}`;
  const from = vm.serialText().length;
  await vm.sendLine(`${command}; echo ${id}=$?`);
  // the echo of the typed line has "=$?", the real output a number
  const m = await vm.waitFor(new RegExp(`${id}=(\\d+)`), timeoutMs, { from });
  const typed = vm.serialText().indexOf(`${id}=$?`, from);
  const out = vm.serialText().slice(typed >= 0 ? typed + id.length + 3 : from, m.index).replace(/\r/g, '');
  return { rc: Number(m[1]), out };
}
