// Boots media in QEMU and watches the serial console.
//
// QEMU is spawned here directly instead of through core/exec.ts run(): run() is
// for tools that run to completion and hands back output only at the end, while a
// VM is a long-lived process that tests steer while it runs (wait for console
// text, then kill it, or wait for it to power off). The rule that matters is kept:
// argument arrays only, never a shell string, and errors carry argv and output.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { MissingToolError, XsforgeError, quoteArg } from '../core/errors.ts';
import { HOST_TOOLS } from '../core/tools.ts';
import {
  type Accel, type VmOptions, OVMF_CODE, OVMF_VARS_TEMPLATE, buildQemuArgv, readableTail,
} from './argv.ts';

export * from './argv.ts';

const POLL_MS = 100;
const STDERR_TAIL_BYTES = 4000;
const KILL_GRACE_MS = 3000;
// 16 bytes: the 16550A's receive FIFO; the pause lets the guest (under TCG, slowly) drain it
const SEND_CHUNK = 16;
const SEND_PAUSE_MS = 40;

export type VmFailure = 'timeout' | 'exited' | 'stalled';

// A guest that has printed nothing for this long while a test waits on it is hung
// (seen under TCG: the dom0 kernel stops mid-boot and never prints again). The
// installer and the hosts print well within it even while writing the dom0 root.
export const DEFAULT_STALL_MS = 300_000;

/** A wait on a VM failed: says what was awaited, and shows argv, serial tail and QEMU's own output. */
export class VmError extends XsforgeError {
  constructor(
    readonly reason: VmFailure,
    what: string,
    readonly argv: string[],
    readonly serialLog: string,
    readonly serialTail: string,
    readonly qemuOutput: string,
  ) {
    super([
      what,
      `  qemu: ${argv.map(quoteArg).join(' ')}`,
      `  last lines of the serial console (${serialLog}):`,
      indent(serialTail),
      ...(qemuOutput.trim() ? ['  qemu output:', indent(qemuOutput)] : []),
    ].join('\n'), `the whole serial log is in ${serialLog}`);
    this.name = 'VmError';
  }
}

function indent(text: string): string {
  if (!text.trim()) return '  | (nothing)';
  return text.trimEnd().split('\n').map((l) => `  | ${l}`).join('\n');
}

export interface WaitForOptions {
  /** look only at serial text from this offset on (e.g. the end of a previous match) */
  from?: number;
}

export interface Vm {
  readonly argv: string[];
  readonly pid: number;
  readonly serialLog: string;
  /** the accelerator really used (kvm falls back to tcg when /dev/kvm does not open) */
  readonly accel: Accel;
  /** why a requested accelerator was not used, if it was not */
  readonly accelNote?: string;
  /** true once QEMU has exited */
  readonly exited: boolean;
  /** QEMU's exit status once it has exited (128+N when killed by signal N) */
  readonly exitStatus: number | undefined;
  /** true once a wait failed because the serial console stayed silent for VmOptions.stallMs */
  readonly stalled: boolean;
  /**
   * Resolves with the first match of `pattern` in the serial text (its `index` is an
   * offset into serialText()); rejects with VmError on timeout or if QEMU exits first.
   * Pass Infinity to wait with no time limit.
   */
  waitFor(pattern: RegExp, timeoutMs: number, opts?: WaitForOptions): Promise<RegExpExecArray>;
  /** Resolves with QEMU's exit status (128+N when killed by signal N); rejects with VmError on timeout. */
  waitExit(timeoutMs: number): Promise<number>;
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. Safe to call twice. */
  kill(): Promise<void>;
  /** everything the guest wrote to the serial console so far */
  serialText(): string;
  /** the last few KB QEMU itself printed (stdout+stderr): why it refused to start or aborted */
  qemuOutput(): string;
  /**
   * Types `text` on the serial console (VmOptions.serialInput must be true), in
   * small chunks with pauses: the guest's UART FIFO and Xen's console ring are
   * small, and a fast burst would lose characters. Resolves once all is written.
   */
  send(text: string): Promise<void>;
  /** send(line + CR): Enter on a serial terminal */
  sendLine(line: string): Promise<void>;
  /** Calls `listener` with each new chunk of serial bytes; `replay` first sends what is already there. Returns an unsubscribe function. */
  onSerial(listener: (chunk: Buffer) => void, opts?: { replay?: boolean }): () => void;
}

// Every running VM, so a dying test process never leaves QEMU behind.
const liveVms = new Set<VmProcess>();
let hooksInstalled = false;

function killAllSync(): void {
  for (const vm of liveVms) vm.killSync();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAllSync();
      process.removeListener(sig, onSignal);
      // Re-raise so the default action (or the program's own handler) still happens.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

interface TextWaiter {
  pattern: RegExp;
  from: number;
  resolve: (m: RegExpExecArray) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
  describe: string;
  /** when the wait began: silence before it (a test busy on the host) is not a hang */
  since: number;
}

interface ExitWaiter {
  resolve: (code: number) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

class VmProcess implements Vm {
  readonly pid: number;
  exited = false;
  exitStatus: number | undefined;
  private text = '';
  private offset = 0;
  private readonly decoder = new StringDecoder('utf8');
  private fd: number | undefined;
  private qemuOutputTail = '';
  private readonly poller: NodeJS.Timeout;
  private readonly textWaiters = new Set<TextWaiter>();
  private readonly exitWaiters = new Set<ExitWaiter>();
  private readonly listeners = new Set<(chunk: Buffer) => void>();
  private readonly closed: Promise<void>;
  /** last serial output or typed input (Date.now()), for the stall watchdog */
  private lastActivity = Date.now();
  /** true once a wait failed because the console stayed silent for stallMs */
  stalled = false;

  constructor(
    private readonly child: ChildProcess,
    readonly argv: string[],
    readonly serialLog: string,
    readonly accel: Accel,
    readonly accelNote: string | undefined,
    private readonly privateDir: string,
    private readonly stallMs: number,
  ) {
    this.pid = child.pid!;
    this.fd = openSync(serialLog, 'r');
    const keepOutput = (c: Buffer) => { this.qemuOutputTail = (this.qemuOutputTail + c.toString('utf8')).slice(-STDERR_TAIL_BYTES); };
    child.stdout?.on('data', keepOutput);
    child.stderr?.on('data', keepOutput);
    this.poller = setInterval(() => this.pump(), POLL_MS);
    this.poller.unref();
    this.closed = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.exitStatus = code ?? 128 + (signal ? osConstants.signals[signal] ?? 0 : 0);
        this.pump();
        this.exited = true;
        this.cleanup();
        for (const w of this.textWaiters) this.failText(w, 'exited');
        for (const w of this.exitWaiters) { clearTimeout(w.timer); w.resolve(this.exitStatus); }
        this.exitWaiters.clear();
        resolve();
      });
    });
  }

  /** Reads what QEMU appended to the serial log, feeds listeners and checks waiters. */
  private pump(): void {
    if (this.fd === undefined) return;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = readSync(this.fd, buf, 0, buf.length, this.offset);
      if (n <= 0) break;
      const chunk = Buffer.from(buf.subarray(0, n));
      this.offset += n;
      this.lastActivity = Date.now();
      this.text += this.decoder.write(chunk);
      for (const l of this.listeners) l(chunk);
    }
    for (const w of this.textWaiters) {
      const m = this.match(w.pattern, w.from);
      if (m) {
        clearTimeout(w.timer);
        this.textWaiters.delete(w);
        w.resolve(m);
      }
    }
    if (!hasLimit(this.stallMs)) return;
    for (const w of this.textWaiters) {
      if (Date.now() - Math.max(this.lastActivity, w.since) <= this.stallMs) continue;
      this.stalled = true;
      this.failText(w, 'stalled');
    }
  }

  private match(pattern: RegExp, from: number): RegExpExecArray | null {
    // A fresh, non-global copy: a caller's g/y flags and lastIndex must not change what we find.
    const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    const m = re.exec(this.text.slice(from));
    if (m) m.index += from;
    return m;
  }

  private failText(w: TextWaiter, reason: VmFailure): void {
    clearTimeout(w.timer);
    this.textWaiters.delete(w);
    const what = reason === 'timeout'
      ? `timed out waiting for ${w.describe} on the serial console (QEMU pid ${this.pid} still running)`
      : reason === 'stalled'
        ? `the serial console has been silent for ${formatMs(this.stallMs)} while waiting for ${w.describe}: the guest is hung (QEMU pid ${this.pid} still running)`
        : `QEMU exited with status ${this.exitStatus} before ${w.describe} appeared on the serial console`;
    w.reject(this.error(reason, what));
  }

  private error(reason: VmFailure, what: string): VmError {
    return new VmError(reason, what, this.argv, this.serialLog, readableTail(this.text, 60), this.qemuOutputTail);
  }

  private cleanup(): void {
    clearInterval(this.poller);
    if (this.fd !== undefined) { closeSync(this.fd); this.fd = undefined; }
    rmSync(this.privateDir, { recursive: true, force: true });
    liveVms.delete(this);
  }

  waitFor(pattern: RegExp, timeoutMs: number, opts: WaitForOptions = {}): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const from = opts.from ?? 0;
      const w: TextWaiter = { pattern, from, resolve, reject, describe: `${pattern} (within ${formatMs(timeoutMs)})`, since: Date.now() };
      this.pump();
      const m = this.match(pattern, from);
      if (m) return resolve(m);
      if (this.exited) {
        this.textWaiters.add(w);
        return this.failText(w, 'exited');
      }
      this.textWaiters.add(w);
      if (hasLimit(timeoutMs)) w.timer = setTimeout(() => { this.pump(); if (this.textWaiters.has(w)) this.failText(w, 'timeout'); }, timeoutMs);
    });
  }

  waitExit(timeoutMs: number): Promise<number> {
    if (this.exited) return Promise.resolve(this.exitStatus!);
    return new Promise((resolve, reject) => {
      const w: ExitWaiter = { resolve, reject };
      this.exitWaiters.add(w);
      if (hasLimit(timeoutMs)) {
        w.timer = setTimeout(() => {
          this.exitWaiters.delete(w);
          this.pump();
          reject(this.error('timeout', `QEMU (pid ${this.pid}) did not exit within ${formatMs(timeoutMs)}`));
        }, timeoutMs);
      }
    });
  }

  async kill(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const grace = setTimeout(() => this.child.kill('SIGKILL'), KILL_GRACE_MS);
    await this.closed;
    clearTimeout(grace);
  }

  /** For the process exit hook, where nothing asynchronous runs any more. */
  killSync(): void {
    if (this.exited) return;
    try { process.kill(this.pid, 'SIGKILL'); } catch { /* already gone */ }
    rmSync(this.privateDir, { recursive: true, force: true });
  }

  serialText(): string {
    this.pump();
    return this.text;
  }

  qemuOutput(): string {
    return this.qemuOutputTail;
  }

  async send(text: string): Promise<void> {
    const input = this.child.stdin;
    if (!input) throw new XsforgeError('this VM takes no serial input', 'start it with serialInput: true (VmOptions)');
    if (this.exited) throw this.error('exited', `QEMU exited with status ${this.exitStatus} before ${JSON.stringify(text)} could be typed`);
    const bytes = Buffer.from(text, 'utf8');
    this.lastActivity = Date.now();
    for (let i = 0; i < bytes.length; i += SEND_CHUNK) {
      await new Promise<void>((resolve, reject) => input.write(bytes.subarray(i, i + SEND_CHUNK), (err) => (err ? reject(err) : resolve())));
      if (i + SEND_CHUNK < bytes.length) await new Promise((r) => setTimeout(r, SEND_PAUSE_MS));
    }
  }

  sendLine(line: string): Promise<void> {
    return this.send(`${line}\r`);
  }

  onSerial(listener: (chunk: Buffer) => void, opts: { replay?: boolean } = {}): () => void {
    this.pump();
    if (opts.replay && this.offset > 0) {
      const fd = openSync(this.serialLog, 'r');
      try {
        const old = Buffer.alloc(this.offset);
        const n = readSync(fd, old, 0, this.offset, 0);
        listener(old.subarray(0, n));
      } finally { closeSync(fd); }
    }
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }
}

/** setTimeout fires at once for delays past 2^31-1 ms, so longer ones mean "no limit". */
function hasLimit(ms: number): boolean {
  return Number.isFinite(ms) && ms <= 0x7fffffff;
}

function formatMs(ms: number): string {
  return hasLimit(ms) ? `${(ms / 1000).toFixed(1)} s` : 'no time limit';
}

/** kvm only when asked for and /dev/kvm really opens; otherwise TCG, with the reason. */
function resolveAccel(requested: Accel | undefined): { accel: Accel; note?: string } {
  if (requested !== 'kvm') return { accel: 'tcg' };
  try {
    closeSync(openSync('/dev/kvm', 'r+'));
    return { accel: 'kvm' };
  } catch (err) {
    return { accel: 'tcg', note: `KVM was asked for but /dev/kvm does not open (${(err as Error).message}); using TCG` };
  }
}

/** Starts QEMU; the returned Vm is already running. Use withVm() unless you manage kill() yourself. */
export async function startVm(opts: VmOptions): Promise<Vm> {
  if (opts.media && !existsSync(opts.media)) throw new XsforgeError(`boot media not found: ${opts.media}`);
  const { accel, note } = resolveAccel(opts.accel);
  const privateDir = mkdtempSync(join(tmpdir(), 'xsforge-vm-'));
  let ovmfVars: string | undefined;
  try {
    if ((opts.firmware ?? 'bios') === 'uefi') {
      if (!existsSync(OVMF_CODE)) throw new MissingToolError(OVMF_CODE, 'ovmf');
      // Each VM gets its own variable store: OVMF writes boot entries into it.
      ovmfVars = join(privateDir, 'OVMF_VARS.fd');
      copyFileSync(OVMF_VARS_TEMPLATE, ovmfVars);
    }
    const argv = buildQemuArgv(opts, { accel, ovmfVars, ovmfCode: OVMF_CODE });
    // Start from an empty log so nothing from an earlier run can match.
    writeFileSync(opts.serialLog, '');
    // with serial input, QEMU's stdout carries the console too: the log file (logfile=) is what is read
    const child = spawn(argv[0], argv.slice(1), { stdio: opts.serialInput ? ['pipe', 'ignore', 'pipe'] : ['ignore', 'pipe', 'pipe'] });
    // a write after QEMU exited must not crash the test process (EPIPE): send() reports it instead
    child.stdin?.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err: NodeJS.ErrnoException) => {
        const tool = HOST_TOOLS['qemu-system-x86_64'];
        reject(err.code === 'ENOENT' ? new MissingToolError(tool.command, tool.debianPackage) : err);
      });
    });
    const vm = new VmProcess(child, argv, opts.serialLog, accel, note, privateDir, opts.stallMs ?? DEFAULT_STALL_MS);
    liveVms.add(vm);
    installExitHooks();
    return vm;
  } catch (err) {
    rmSync(privateDir, { recursive: true, force: true });
    throw err;
  }
}

/** QEMU itself died of SIGSEGV or SIGABRT (seen under TCG on a loaded CI machine): not the guest's fault. */
export function qemuCrashed(status: number | undefined): boolean {
  return status === 128 + 11 || status === 128 + 6;
}

/** Why a boot deserves one more try, or undefined when its failure is the test's answer. */
function flakyBootReason(vm: Vm): string | undefined {
  if (vm.exited && qemuCrashed(vm.exitStatus)) return `QEMU crashed (exit status ${vm.exitStatus})`;
  if (vm.stalled) return 'the guest hung (serial console silent)';
  return undefined;
}

/**
 * Start a VM, run `fn`, kill the VM. When QEMU itself crashes (SIGSEGV/SIGABRT)
 * or the guest hangs with a silent console (VmOptions.stallMs), the boot is
 * tried once more with a fresh VM: both are TCG failures seen on loaded machines,
 * not answers of the code under test. The first serial log is kept as
 * <log>.first-try and the retry is reported on stderr. `fn` must then be safe to
 * run twice (a boot check is; callers whose `fn` keeps state across the boot pass
 * retryFlakyBoot: false).
 */
export async function withVm<T>(opts: VmOptions & { retryFlakyBoot?: boolean }, fn: (vm: Vm) => Promise<T>): Promise<T> {
  const vm = await startVm(opts);
  try {
    return await fn(vm);
  } catch (e) {
    const reason = opts.retryFlakyBoot === false ? undefined : flakyBootReason(vm);
    if (!reason) throw e;
    await vm.kill();
    const kept = `${opts.serialLog}.first-try`;
    if (opts.serialLog && existsSync(opts.serialLog)) renameSync(opts.serialLog, kept);
    process.stderr.write(`warning: ${reason}; booting once more (first serial log: ${kept})\n${(e as Error).message.split('\n')[0]}\n`);
  } finally {
    await vm.kill();
  }
  const again = await startVm(opts);
  try {
    return await fn(again);
  } finally {
    await again.kill();
  }
}
