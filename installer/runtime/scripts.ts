// Answer-file scripts: fetched, checked for an allowed interpreter (the product's
// rule and messages), run with XS_STAGE set. The generator script of
// `answerfile_generator=` goes through the same fetch and check.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ToolError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { MESSAGES, checkScriptInterpreter, type ScriptSpec } from '../../answerfiles/model.ts';
import { FetchError, fetchText, scratchDir, type FetchEnv } from './fetch.ts';

export class ScriptError extends FetchError {}

/** Fetch a script and check its `#!` line; returns the path of an executable copy. */
export async function fetchScript(env: FetchEnv, url: string): Promise<string> {
  let text: string;
  try {
    text = await fetchText(env, url);
  } catch (e) {
    env.log.detail(`fetching ${url} failed: ${(e as Error).message}`);
    throw new ScriptError(MESSAGES.scriptFetchFailed(url));
  }
  const bad = checkScriptInterpreter(text, url);
  if (bad) throw new ScriptError(bad);
  const path = join(scratchDir(env, 'script'), 'script');
  writeFileSync(path, text);
  chmodSync(path, 0o755);
  return path;
}

/**
 * Run the scripts of one stage in order. A script that cannot be fetched, has a
 * bad interpreter or exits non-zero raises ScriptError unless `mustSucceed` is
 * false (installation-complete: its result is only logged).
 */
export async function runStageScripts(env: FetchEnv, stage: string, scripts: ScriptSpec[], args: string[], mustSucceed: boolean): Promise<void> {
  for (const s of scripts) {
    env.log.say(`Running ${stage} script ${s.url}${args.length ? ` ${args.join(' ')}` : ''}`);
    try {
      const path = await fetchScript(env, s.url);
      await env.log.run([path, ...args], { env: { XS_STAGE: stage }, captureStdout: false, timeoutMs: 3_600_000 });
      env.log.detail(`script ${s.url} returned 0`);
    } catch (e) {
      const err = e instanceof ToolError ? new ScriptError(`Script ${s.url} (${stage}) failed with exit status ${e.exitCode ?? e.signal}`) : e as Error;
      env.log.detail(`script ${s.url}: ${err.message}`);
      if (mustSucceed) throw err;
      env.log.say(`warning: ${err.message}`);
    }
  }
}

/**
 * Run an answer-file generator: its standard output is the answer file. The
 * output is not logged (it may hold a root password); on failure stderr is.
 */
export async function runGenerator(env: FetchEnv, url: string): Promise<string> {
  const path = await fetchScript(env, url);
  env.log.detail(`$ ${path} (answer file generator from ${url}, XS_STAGE=answerfile)`);
  let stderr = '';
  try {
    const r = await run([path], { env: { XS_STAGE: 'answerfile' }, timeoutMs: 600_000 });
    return r.stdout;
  } catch (e) {
    stderr = e instanceof ToolError ? e.outputTail : (e as Error).message;
    throw new ScriptError(MESSAGES.generatorFailed(stderr.trim()));
  }
}
