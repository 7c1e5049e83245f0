// Pure helpers of bench/run.ts: reading `xsforge build --json` events (which
// stages ran, the stage timeline) and formatting the summary table.

/** One line of `xsforge build --json` (only the fields read here). */
export interface BuildEvent {
  type: string;
  stage?: string;
  time?: number;
  durationMs?: number;
}

/** `--json` stdout to events; lines that are not JSON objects (none expected) are an error, not skipped. */
export function parseEvents(stdout: string): BuildEvent[] {
  return stdout.split('\n').filter((l) => l.trim()).map((l, i) => {
    let e: unknown;
    try {
      e = JSON.parse(l);
    } catch {
      throw new Error(`build --json line ${i + 1} is not JSON: ${l.slice(0, 200)}`);
    }
    if (!e || typeof e !== 'object' || typeof (e as BuildEvent).type !== 'string') throw new Error(`build --json line ${i + 1} is not an event: ${l.slice(0, 200)}`);
    return e as BuildEvent;
  });
}

/** The stages that ran (stage-finish) and those taken from the cache (stage-cached), each sorted. */
export function stageRuns(events: BuildEvent[]): { ran: string[]; cached: string[]; failed: string[] } {
  const of = (type: string) => [...new Set(events.filter((e) => e.type === type && e.stage).map((e) => e.stage!))].sort();
  return { ran: of('stage-finish'), cached: of('stage-cached'), failed: of('stage-failed') };
}

/** Compares the stages that ran with the set that should have: exact means neither extra nor missing ones. */
export function checkStageSet(ran: string[], expected: string[]): { exact: boolean; unexpected: string[]; missing: string[] } {
  const unexpected = ran.filter((s) => !expected.includes(s)).sort();
  const missing = expected.filter((s) => !ran.includes(s)).sort();
  return { exact: unexpected.length === 0 && missing.length === 0, unexpected, missing };
}

export interface TimelineRow {
  stage: string;
  /** ms from build-start to stage-start */
  startMs: number;
  durationMs: number;
}

/**
 * Each stage that ran: its start offset from build-start and its duration
 * (stage-finish's durationMs; the engine measures it from just before
 * stage-start), ordered by start time then name.
 */
export function stageTimeline(events: BuildEvent[]): TimelineRow[] {
  const start = events.find((e) => e.type === 'build-start');
  if (start?.time === undefined) throw new Error('no build-start event with a time');
  const started = new Map<string, number>();
  for (const e of events) if (e.type === 'stage-start' && e.stage && e.time !== undefined) started.set(e.stage, e.time);
  const rows: TimelineRow[] = [];
  for (const e of events) {
    if (e.type !== 'stage-finish' || !e.stage) continue;
    const s = started.get(e.stage);
    if (s === undefined || e.durationMs === undefined) throw new Error(`stage ${e.stage} finished without a stage-start time or a duration`);
    rows.push({ stage: e.stage, startMs: s - start.time, durationMs: e.durationMs });
  }
  return rows.sort((a, b) => a.startMs - b.startMs || (a.stage < b.stage ? -1 : a.stage > b.stage ? 1 : 0));
}

/** The timeline as text: offset, duration and a bar on a common time axis `width` characters wide. */
export function formatTimeline(rows: TimelineRow[], width = 50): string[] {
  if (rows.length === 0) return ['  (no stage ran)'];
  const end = Math.max(...rows.map((r) => r.startMs + r.durationMs), 1);
  const name = Math.max(5, ...rows.map((r) => r.stage.length));
  const sec = (ms: number) => `${(ms / 1000).toFixed(1)}`.padStart(7);
  return [
    `  ${'stage'.padEnd(name)}  start s  dur s  |${' '.repeat(width)}|`,
    ...rows.map((r) => {
      const from = Math.min(width - 1, Math.floor((r.startMs / end) * width));
      const len = Math.max(1, Math.min(width - from, Math.round((r.durationMs / end) * width)));
      return `  ${r.stage.padEnd(name)} ${sec(r.startMs)}${sec(r.durationMs)}  |${' '.repeat(from)}${'#'.repeat(len)}${' '.repeat(width - from - len)}|`;
    }),
  ];
}

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline: number;
  baselineName: string;
  ratio: number;
  /** the target, as text, where the benchmark has one */
  target?: string;
  met?: boolean;
  samples: number[];
  /** anything else the benchmark found (stage sets, phases, timeline) */
  details?: Record<string, unknown>;
}

/** The closing summary: one row per result with its figure, baseline, ratio and target status. */
export function summaryTable(results: BenchResult[]): string[] {
  const header = ['benchmark', 'figure', 'baseline', 'ratio', 'target', 'status'];
  const num = (v: number, unit: string) => `${v.toFixed(3)} ${unit}`;
  const rows = results.map((r) => [
    r.name,
    num(r.value, r.unit),
    `${num(r.baseline, r.unit)} (${r.baselineName})`,
    `${r.ratio.toFixed(2)}x`,
    r.target ?? '-',
    r.met === undefined ? '-' : r.met ? 'met' : 'NOT MET',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
