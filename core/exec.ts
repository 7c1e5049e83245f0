// The one place that runs external tools. Argument arrays only (no shell), output
// captured, and on failure a ToolError that shows argv and the end of the output.
import { spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { ToolError, MissingToolError } from './errors.ts';
import { debianPackageOf, findOnPath } from './which.ts';

export interface ExecOptions {
  cwd?: string;
  /** merged over process.env */
  env?: Record<string, string | undefined>;
  /** bytes or text written to stdin */
  input?: string | Buffer;
  /** keep stdout in the result (default true) */
  captureStdout?: boolean;
  /** append all output to this file (build logs kept beside artifacts) */
  logFile?: string;
  /** called with each chunk of stderr+stdout, e.g. for progress */
  onOutput?: (chunk: string) => void;
  timeoutMs?: number;
  /** how many bytes of output to keep for error messages */
  tailBytes?: number;
  /** hint shown if the tool fails */
  hint?: string;
  signal?: AbortSignal;
}

export interface ExecResult {
  stdout: string;
  stdoutBytes: Buffer;
  outputTail: string;
}

/** Run argv[0] with argv[1..]; resolves on exit 0, rejects with ToolError otherwise. */
export function run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  const tailBytes = opts.tailBytes ?? 4000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: opts.signal,
    });
    const out: Buffer[] = [];
    let tail = '';
    let log: WriteStream | undefined;
    if (opts.logFile) log = createWriteStream(opts.logFile, { flags: 'a' });
    const keepTail = (chunk: Buffer) => {
      const s = chunk.toString('utf8');
      tail = (tail + s).slice(-tailBytes);
      log?.write(chunk);
      opts.onOutput?.(s);
    };
    child.stdout.on('data', (c: Buffer) => {
      if (opts.captureStdout !== false) out.push(c);
      keepTail(c);
    });
    child.stderr.on('data', keepTail);
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      log?.end();
      if (err.code === 'ENOENT') {
        const pkg = debianPackageOf(cmd);
        reject(pkg ? new MissingToolError(cmd, pkg) : new ToolError(argv, null, null, `cannot run: ${err.message}`, opts.hint));
      } else reject(new ToolError(argv, null, null, err.message, opts.hint));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      log?.end();
      if (code === 0) {
        const stdoutBytes = Buffer.concat(out);
        resolve({ stdout: stdoutBytes.toString('utf8'), stdoutBytes, outputTail: tail });
      } else reject(new ToolError(argv, code, signal, tail, opts.hint));
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** True when a command can be found on PATH (cheap; no process). */
export function haveCommand(cmd: string): boolean {
  return findOnPath(cmd) !== undefined;
}

export interface StartOptions {
  cwd?: string;
  /** merged over process.env */
  env?: Record<string, string | undefined>;
  /** called with each chunk of stderr+stdout (a server's log) */
  onOutput?: (chunk: string) => void;
  /** how many bytes of output to keep for outputTail() */
  tailBytes?: number;
}

export interface RunningProcess {
  argv: string[];
  pid: number;
  /** settles once the process has ended, however it ended (never rejects) */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** the end of its output so far, for error messages */
  outputTail(): string;
  /** SIGTERM, SIGKILL after graceMs (default 5000); resolves once it has ended */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts a long-running tool (a server) that run() would wait for forever:
 * argument array, no shell, stdin closed, output passed to onOutput and kept
 * for errors. Resolves once the process exists; rejects with MissingToolError
 * (or ToolError) when it cannot be started. Whether it is ready is the caller's
 * question (e.g. a log line). A process still running when Node exits gets SIGTERM.
 */
export function startProcess(argv: string[], opts: StartOptions = {}): Promise<RunningProcess> {
  const [cmd, ...args] = argv;
  const tailBytes = opts.tailBytes ?? 4000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    const onChunk = (chunk: Buffer) => {
      const s = chunk.toString('utf8');
      tail = (tail + s).slice(-tailBytes);
      opts.onOutput?.(s);
    };
    child.stdout.on('data', onChunk);
    child.stderr.on('data', onChunk);
    const killOnExit = () => { child.kill('SIGTERM'); };
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
      child.on('close', (code, signal) => {
        process.off('exit', killOnExit);
        done({ code, signal });
      });
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      process.off('exit', killOnExit);
      if (err.code === 'ENOENT') {
        const pkg = debianPackageOf(cmd);
        reject(pkg ? new MissingToolError(cmd, pkg) : new ToolError(argv, null, null, `cannot run: ${err.message}`));
      } else reject(new ToolError(argv, null, null, err.message));
    });
    child.once('spawn', () => {
      process.on('exit', killOnExit);
      resolve({
        argv,
        pid: child.pid!,
        exited,
        outputTail: () => tail,
        stop: async (graceMs = 5000) => {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
            await exited;
            clearTimeout(timer);
          }
          await exited;
        },
      });
    });
  });
}
