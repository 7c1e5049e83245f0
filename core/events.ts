// Build events and the three ways of showing them: a live per-stage view on a
// TTY, plain lines otherwise, and one JSON object per line for scripts.

export type BuildEvent =
  | { type: 'build-start'; stages: number; time: number }
  | { type: 'stage-start'; stage: string; key: string; reasons?: string[]; time: number }
  | { type: 'stage-progress'; stage: string; note: string; time: number }
  | { type: 'stage-finish'; stage: string; key: string; durationMs: number; artifacts: Record<string, string>; time: number }
  | { type: 'stage-cached'; stage: string; key: string; artifacts: Record<string, string>; time: number }
  | { type: 'stage-failed'; stage: string; key: string; durationMs: number; error: string; log?: string; time: number }
  | { type: 'stage-skipped'; stage: string; because: string; time: number }
  | { type: 'build-finish'; ok: boolean; ran: number; cached: number; failed: number; durationMs: number; time: number }
  | { type: 'message'; level: 'info' | 'warn'; text: string; time: number };

export type EventInput = BuildEvent extends infer E ? (E extends BuildEvent ? Omit<E, 'time'> : never) : never;

export interface Reporter {
  emit(e: BuildEvent): void;
  close(): void;
}

export class JsonReporter implements Reporter {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}
  emit(e: BuildEvent): void {
    this.out.write(`${JSON.stringify(e)}\n`);
  }
  close(): void {}
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export class PlainReporter implements Reporter {
  constructor(private readonly out: NodeJS.WritableStream = process.stderr, private readonly explain = false) {}
  emit(e: BuildEvent): void {
    this.out.write(plainLine(e, this.explain));
  }
  close(): void {}
}

function plainLine(e: BuildEvent, explain: boolean): string {
  switch (e.type) {
    case 'build-start': return `build: ${e.stages} stages\n`;
    case 'stage-start': {
      let s = `[run]    ${e.stage}\n`;
      if (explain && e.reasons) s += e.reasons.map((r) => `           because ${r}\n`).join('');
      return s;
    }
    case 'stage-progress': return '';
    case 'stage-finish': return `[done]   ${e.stage} (${secs(e.durationMs)})\n`;
    case 'stage-cached': return `[cached] ${e.stage}\n`;
    case 'stage-failed': return `[FAILED] ${e.stage} after ${secs(e.durationMs)}${e.log ? ` (log: ${e.log})` : ''}\n`;
    case 'stage-skipped': return `[skip]   ${e.stage}: ${e.because}\n`;
    case 'build-finish': return `build ${e.ok ? 'finished' : 'FAILED'}: ${e.ran} ran, ${e.cached} cached, ${e.failed} failed in ${secs(e.durationMs)}\n`;
    case 'message': return `${e.level === 'warn' ? 'warning: ' : ''}${e.text}\n`;
  }
}

/** Live view: finished lines scroll, running stages stay at the bottom with a timer. */
export class TtyReporter implements Reporter {
  private running = new Map<string, { since: number; note: string }>();
  private drawn = 0;
  private timer: NodeJS.Timeout;
  constructor(private readonly out: NodeJS.WriteStream = process.stderr, private readonly explain = false) {
    this.timer = setInterval(() => this.redraw(), 200);
    this.timer.unref();
  }
  emit(e: BuildEvent): void {
    this.clear();
    if (e.type === 'stage-start') this.running.set(e.stage, { since: e.time, note: '' });
    if (e.type === 'stage-progress') {
      const r = this.running.get(e.stage);
      if (r) r.note = e.note;
    } else {
      if (e.type === 'stage-finish' || e.type === 'stage-failed') this.running.delete(e.stage);
      this.out.write(plainLine(e, this.explain));
    }
    this.redraw();
  }
  private clear(): void {
    if (this.drawn) this.out.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }
  private redraw(): void {
    this.clear();
    const now = Date.now();
    const width = this.out.columns || 100;
    for (const [stage, r] of this.running) {
      const line = `  ⟳ ${stage}  ${secs(now - r.since)}  ${r.note}`;
      this.out.write(`${line.slice(0, width - 1)}\n`);
      this.drawn++;
    }
  }
  close(): void {
    clearInterval(this.timer);
    this.clear();
  }
}

export function pickReporter(opts: { json?: boolean; explain?: boolean; quiet?: boolean }): Reporter {
  if (opts.json) return new JsonReporter();
  if (opts.quiet) return { emit: (e) => { if (e.type === 'stage-failed' || (e.type === 'message' && e.level === 'warn')) process.stderr.write(plainLine(e, false)); }, close() {} };
  if (process.stderr.isTTY) return new TtyReporter(process.stderr, opts.explain);
  return new PlainReporter(process.stderr, opts.explain);
}

/** One stage as the build report draws it; times are ms from build-start. */
export interface TimelineStage {
  stage: string;
  status: 'ran' | 'cached' | 'failed' | 'skipped';
  startMs: number;
  durationMs: number;
  /** first line of the error of a failed stage, or why a stage was skipped */
  note?: string;
}

export interface BuildTimeline {
  /** wall-clock ms since the Unix epoch of build-start */
  startedAt: number;
  durationMs: number;
  ok: boolean;
  /** the -j the engine ran with: at most this many stages run at once */
  jobs: number;
  stages: TimelineStage[];
}

/**
 * Passes every event on to another reporter and keeps the stage timeline for
 * the build report. Start times come from stage-start (emitted once the stage
 * holds one of the -j slots), so the intervals show real slot occupancy.
 */
export class RecordingReporter implements Reporter {
  private t0: number | undefined;
  private end: number | undefined;
  private ok = false;
  private readonly starts = new Map<string, number>();
  private readonly stages: TimelineStage[] = [];

  constructor(private readonly inner: Reporter, private readonly jobs: number) {}

  emit(e: BuildEvent): void {
    this.record(e);
    this.inner.emit(e);
  }

  close(): void {
    this.inner.close();
  }

  private record(e: BuildEvent): void {
    if (e.type === 'build-start') this.t0 = e.time;
    const t0 = this.t0 ?? e.time;
    this.t0 = t0;
    switch (e.type) {
      case 'stage-start': this.starts.set(e.stage, e.time); break;
      case 'stage-cached': this.stages.push({ stage: e.stage, status: 'cached', startMs: e.time - t0, durationMs: 0 }); break;
      case 'stage-finish':
      case 'stage-failed': {
        // a stage can fail before it emits stage-start (scratch directory); then its duration says when it began
        const start = this.starts.get(e.stage) ?? e.time - e.durationMs;
        this.stages.push({
          stage: e.stage, status: e.type === 'stage-finish' ? 'ran' : 'failed', startMs: Math.max(0, start - t0), durationMs: e.time - start,
          ...(e.type === 'stage-failed' ? { note: e.error.split('\n')[0].slice(0, 300) } : {}),
        });
        break;
      }
      case 'stage-skipped': this.stages.push({ stage: e.stage, status: 'skipped', startMs: e.time - t0, durationMs: 0, note: e.because }); break;
      case 'build-finish': this.end = e.time; this.ok = e.ok; break;
      default: break;
    }
  }

  /** The timeline so far; a build that threw before build-finish ends now and is not ok. */
  timeline(now = Date.now()): BuildTimeline {
    const t0 = this.t0 ?? now;
    return { startedAt: t0, durationMs: (this.end ?? now) - t0, ok: this.end !== undefined && this.ok, jobs: this.jobs, stages: [...this.stages] };
  }
}
