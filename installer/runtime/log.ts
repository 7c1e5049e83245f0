// The installer log: what the consoles show plus every command run and its
// output, in one file that is copied to /var/log/installer/ on the target.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { quoteArg } from '../../core/errors.ts';
import { run, type ExecOptions, type ExecResult } from '../../core/exec.ts';

/** Where console lines go (Consoles, or a stand-in in tests). */
export interface LineSink {
  line(text?: string): void;
}

export class InstallLog {
  constructor(
    private readonly consoles: LineSink,
    /** the log file; undefined keeps no file */
    readonly file: string | undefined,
    /** copy details (commands and their output) to stdout too */
    private readonly echoDetails = false,
  ) {
    if (file) mkdirSync(dirname(file), { recursive: true });
  }

  private toFile(text: string): void {
    if (!this.file) return;
    try {
      appendFileSync(this.file, text.endsWith('\n') ? text : text + '\n');
    } catch { /* a full /run must not stop the install */ }
  }

  /** A line (or several) for every console and the log. */
  say(text = ''): void {
    this.consoles.line(text);
    this.toFile(text);
  }

  /** Only in the log (and on stdout when echoing details). */
  detail(text: string): void {
    this.toFile(text);
    if (this.echoDetails) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** Run a tool (argument array, no shell), with the command line and its output in the log. */
  async run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.detail(`$ ${argv.map(quoteArg).join(' ')}`);
    return run(argv, {
      ...opts,
      onOutput: (chunk) => {
        this.detail(chunk.replace(/\n$/, ''));
        opts.onOutput?.(chunk);
      },
    });
  }
}
