// Errors a person can act on: every error we raise says what failed and, where
// we know it, what to do about it. The CLI prints `message` and `hint` and exits 1.

export class XsforgeError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'XsforgeError';
  }
}

/** A tool exited badly: carries its argv and the end of its output. */
export class ToolError extends XsforgeError {
  constructor(
    readonly argv: string[],
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly outputTail: string,
    hint?: string,
  ) {
    const how = signal ? `was killed by ${signal}` : `exited with status ${exitCode}`;
    super(`${argv[0]} ${how}\n  command: ${argv.map(quoteArg).join(' ')}\n${indent(outputTail)}`, hint);
    this.name = 'ToolError';
  }
}

/** A host tool is not installed. */
export class MissingToolError extends XsforgeError {
  constructor(readonly tool: string, readonly debianPackage: string) {
    super(`required tool '${tool}' is not installed`,
      `install it with: apt-get install -y --no-install-recommends ${debianPackage}   (or run: xsforge doctor --install)`);
    this.name = 'MissingToolError';
  }
}

export function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

function indent(text: string): string {
  if (!text.trim()) return '  (no output)';
  return text.trimEnd().split('\n').map((l) => `  | ${l}`).join('\n');
}
