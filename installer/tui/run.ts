// runInteractiveInstall: the reducer (flow.ts) driven over real streams. Bytes from
// `input` become keys (keys.ts); each key goes through reduce(); effects the state
// asks for (plan summary, verify, install, ...) are run here, through the context's
// callbacks, and their results fed back as events; each new state is drawn as a
// whole-screen frame (render.ts) when it differs from the last one drawn.
//
// Keys typed while an effect runs are kept and applied after it (type-ahead, as on
// a terminal), so a script may type ahead of a slow screen.
//
// The caller owns the streams: `input` is paused, not closed, when this returns (a
// TTY is put back in the mode it was in); destroy it when it is no longer needed, or
// an open console keeps the process alive.
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { InstallConfig } from '../../answerfiles/model.ts';
import { cryptSaltFromBytes } from '../runtime/sha512crypt.ts';
import { answerFileToSave, buildConfig, buildSetup, saveAsOf } from './config.ts';
import type { InteractiveSetup, TuiContext } from './context.ts';
import { initialState, reduce, type Effect, type EffectResult, type TuiEvent, type TuiState } from './flow.ts';
import { KeyDecoder } from './keys.ts';
import { renderFrame } from './render.ts';

export interface InteractiveIo {
  input: Readable;
  output: Writable;
}

export interface RunOptions {
  /** how long a lone ESC waits for the rest of a sequence before it counts as Esc (default 300 ms: serial lines split sequences) */
  escapeTimeoutMs?: number;
  /** salt for the root password hash in the saved answer file (default: random) */
  passwordSalt?: string;
}

export interface InteractiveAnswers {
  config: InstallConfig;
  /** absolute path the user asked the answer file to be saved at (confirm screen) */
  saveAs?: string;
  /** the answer file to save there (root password as a SHA-512 crypt hash) */
  answerFile?: string;
  /** why there is no answerFile: a value the format cannot carry (never seen with values the screens accept) */
  answerFileError?: string;
  setup: InteractiveSetup;
  /** present when the context has an install callback: whether it succeeded (the user then chose to reboot) */
  installed?: boolean;
  installError?: string;
  /** names of the supplemental packs installed after the main install */
  supplementalPacks?: string[];
}

export type InteractiveResult = InteractiveAnswers | { cancelled: true; reason: 'reboot' | 'eula-declined' | 'input-closed' };

type RawInput = Readable & { isTTY?: boolean; isRaw?: boolean; setRawMode?: (raw: boolean) => unknown };

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).trim() || 'unknown error';
}

export function runInteractiveInstall(io: InteractiveIo, context: TuiContext, options: RunOptions = {}): Promise<InteractiveResult> {
  const escapeTimeout = options.escapeTimeoutMs ?? 300;
  const input = io.input as RawInput;
  const output = io.output;
  const wasRaw = input.isRaw === true;
  if (input.isTTY && typeof input.setRawMode === 'function') input.setRawMode(true);

  const { planSummary, verifySource, loadDriverDisk, install, installSupplementalPack, ...data } = context;
  let state: TuiState = initialState(data, {
    install: install !== undefined, suppPacks: installSupplementalPack !== undefined, driverDisk: loadDriverDisk !== undefined,
  });
  const decoder = new KeyDecoder();
  const queue: TuiEvent[] = [];
  let escTimer: NodeJS.Timeout | undefined;
  let startedEffect = 0;
  let lastFrame = '';
  let waitingDrain = false;
  let finished = false;

  return new Promise<InteractiveResult>((resolve) => {
    const render = () => {
      if (waitingDrain) return; // drawn once the terminal has taken the previous frame
      const frame = renderFrame(state);
      if (frame === lastFrame) return;
      lastFrame = frame;
      if (!output.write(frame)) {
        waitingDrain = true;
        output.once('drain', () => {
          waitingDrain = false;
          render();
        });
      }
    };

    const run = (e: Effect): void => {
      const answer = (result: EffectResult) => {
        if (finished) return;
        state = reduce(state, { type: 'effect', id: e.id, result });
        afterChange();
      };
      const fail = (err: unknown) => answer({ ok: false, error: errorText(err) });
      // callbacks run on a later turn, so a synchronous one cannot re-enter the reducer loop
      setImmediate(() => {
        try {
          const config = buildConfig(state);
          const setup = buildSetup(state);
          switch (e.kind) {
            case 'summary':
              answer({ ok: true, text: planSummary(config, setup) });
              break;
            case 'verify':
              verifySource(config, setup).then((r) => answer(r.ok ? { ok: true } : { ok: false, error: r.error }), fail);
              break;
            case 'install': {
              const progress = (line: string) => {
                if (finished) return;
                state = reduce(state, { type: 'progress', id: e.id, line });
                render();
              };
              install!(config, setup, progress).then(() => answer({ ok: true }), fail);
              break;
            }
            case 'supp-pack':
              installSupplementalPack!().then((name) => answer({ ok: true, name }), fail);
              break;
            case 'driver-disk':
              loadDriverDisk!().then((r) => answer({ ok: true, name: r.name, ...(r.disks && { disks: r.disks }), ...(r.nics && { nics: r.nics }) }), fail);
              break;
          }
        } catch (err) {
          fail(err);
        }
      });
    };

    const afterChange = () => {
      // keys wait while an effect runs; the effect's answer lets them through
      while (!state.outcome && !state.effect && queue.length) state = reduce(state, queue.shift()!);
      if (state.effect && state.effect.id !== startedEffect) {
        startedEffect = state.effect.id;
        run(state.effect);
      }
      render();
      if (state.outcome) done();
    };

    const push = (events: TuiEvent[]) => {
      queue.push(...events);
      afterChange();
    };

    const onData = (chunk: Buffer | string) => {
      if (escTimer) clearTimeout(escTimer);
      escTimer = undefined;
      push(decoder.push(chunk).map((key) => ({ type: 'key', key })));
      // a pending ESC may be Esc, or the start of a sequence whose rest is on its way
      if (decoder.waiting) {
        escTimer = setTimeout(() => {
          escTimer = undefined;
          push(decoder.flush().map((key) => ({ type: 'key', key })));
        }, escapeTimeout);
      }
    };
    const onEnd = () => {
      if (escTimer) clearTimeout(escTimer);
      escTimer = undefined;
      push([...decoder.flush().map((key): TuiEvent => ({ type: 'key', key })), { type: 'input-closed' }]);
    };

    const done = () => {
      if (finished) return;
      finished = true;
      if (escTimer) clearTimeout(escTimer);
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('close', onEnd);
      input.pause();
      if (input.isTTY && typeof input.setRawMode === 'function') input.setRawMode(wasRaw);
      const outcome = state.outcome!;
      if (outcome.kind === 'cancelled') {
        resolve({ cancelled: true, reason: outcome.reason });
        return;
      }
      const config = buildConfig(state);
      const saveAs = saveAsOf(state);
      const salt = options.passwordSalt ?? cryptSaltFromBytes(randomBytes(16));
      let answerFile: string | undefined;
      let answerFileError: string | undefined;
      try {
        answerFile = answerFileToSave(config, salt);
      } catch (e) {
        answerFileError = errorText(e);
      }
      resolve({
        config,
        ...(saveAs !== undefined && { saveAs }),
        ...(answerFile !== undefined ? { answerFile } : { answerFileError: answerFileError! }),
        setup: buildSetup(state),
        ...(outcome.kind === 'installed' && { installed: true, supplementalPacks: [...state.suppPacks] }),
        ...(outcome.kind === 'install-failed' && { installed: false, installError: outcome.error, supplementalPacks: [] }),
      });
    };

    input.on('data', onData);
    input.on('end', onEnd);
    input.on('close', onEnd);
    input.resume();
    render();
  });
}
