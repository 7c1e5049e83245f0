// A stage is one step of a build: it reads declared inputs (options, files,
// upstream stages, tools) and writes files into ctx.out. Its cache key is a hash
// of exactly those inputs, so the same key means the same output.
import type { ExecOptions, ExecResult } from './exec.ts';
import type { Json } from './hash.ts';
import type { ToolName } from './tools.ts';

export interface StageContext<O extends Json = Json> {
  /** the stage's canonical options */
  options: O;
  /** scratch directory the stage writes its outputs into (renamed into the cache on success) */
  out: string;
  /** scratch directory for temporary work, removed after the stage */
  work: string;
  /** output directory of an upstream stage, by the alias used in `deps` */
  dep(alias: string): string;
  /** absolute path of a declared input file, by the key used in `inputFiles` */
  inputFile(key: string): string;
  /** all timestamps come from here */
  sourceDateEpoch: number;
  /** root of the shared download cache (apt archives etc.), outside stage outputs */
  downloadCache: string;
  /** run a tool; output is also appended to the stage's build log */
  run(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** a progress note for the live view ("unpacking 3/10") */
  progress(note: string): void;
  /** a line for the build log */
  log(line: string): void;
}

export interface Stage<O extends Json = Json> {
  /** unique in a build graph, e.g. "media.iso" */
  name: string;
  /** bump when the stage's code changes what it produces */
  version: number;
  options: O;
  /** upstream stages by alias */
  deps?: Record<string, Stage<any>>;
  /** files read by the stage, by key: their contents are part of the key */
  inputFiles?: Record<string, string>;
  /** host tools run by the stage: their versions are part of the key */
  tools?: ToolName[];
  /** files in the output worth naming in progress events and output manifests */
  artifacts?: Record<string, { path: string; kind: string }>;
  run(ctx: StageContext<O>): Promise<void>;
}

export function defineStage<O extends Json>(stage: Stage<O>): Stage<O> {
  return stage;
}
