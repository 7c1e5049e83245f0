// The installer runtime on a real terminal for integration tests: python3's pty
// module relays bytes both ways, its slave is linked as <dev>/<name> (the
// console the runtime opens), our stdin goes to the master and the master's
// output comes back as `read()`.
import { spawn } from 'node:child_process';

const RELAY = `
import os, pty, select, subprocess, sys
master, slave = pty.openpty()
os.symlink(os.ttyname(slave), sys.argv[1])
child = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL)
while True:
    r, _, _ = select.select([master, 0], [], [], 0.05)
    if master in r:
        sys.stdout.buffer.write(os.read(master, 65536)); sys.stdout.buffer.flush()
    if 0 in r:
        data = os.read(0, 65536)
        if data: os.write(master, data)
    if child.poll() is not None and not select.select([master], [], [], 0.2)[0]:
        break
sys.exit(child.returncode)
`;

export interface PtyRuntime {
  read(): string;
  send(text: string): void;
  stderr(): string;
  /** resolves with the exit status, rejects after `timeoutMs` */
  exited(timeoutMs: number): Promise<number>;
  kill(): void;
}

/** Run `argv` with `consoleLink` (e.g. <dev>/hvc0) a pseudo-terminal. */
export function runOnPty(consoleLink: string, argv: string[], opts: { cwd: string; env?: Record<string, string> }): PtyRuntime {
  const child = spawn('python3', ['-c', RELAY, consoleLink, ...argv], { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
  child.stderr.setEncoding('utf8').on('data', (c: string) => { err += c; });
  const done = new Promise<number>((r) => child.on('exit', (code) => r(code ?? -1)));
  return {
    read: () => out,
    send: (t) => { child.stdin.write(t); },
    stderr: () => err,
    exited: (ms) => Promise.race([done, new Promise<number>((_, j) => setTimeout(() => j(new Error(`the runtime did not exit within ${ms} ms; stderr: ${err.slice(-3000)}`)), ms))]),
    kill: () => { child.kill(); },
  };
}
