// Runs jobs in a fixed number of lanes: the longest first, never two jobs that
// hold the same lock at the same time (e2e files that need one fixed host port).

export interface LaneJob {
  name: string;
  /** names of resources the job must hold alone */
  locks: string[];
  /** expected seconds; higher starts first (unknown jobs: pass Infinity) */
  cost: number;
}

/** The `// test-lock: A, B` names a test file's source declares. */
export function locksOf(source: string): string[] {
  const m = /^\/\/ test-lock: (.+)$/m.exec(source);
  return m ? m[1]!.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

export async function runInLanes<J extends LaneJob>(jobs: J[], lanes: number, run: (job: J, lane: number) => Promise<void>): Promise<void> {
  // Infinity - Infinity is NaN, which || passes over like 0: unknown costs sort by name
  const queue = [...jobs].sort((a, b) => (b.cost - a.cost) || a.name.localeCompare(b.name));
  const held = new Set<string>();
  const waiting = new Set<() => void>();
  const lane = async (n: number): Promise<void> => {
    for (;;) {
      if (!queue.length) return;
      const i = queue.findIndex((j) => j.locks.every((l) => !held.has(l)));
      if (i < 0) {
        // every job left needs a lock another lane holds: wait until a job ends
        await new Promise<void>((r) => waiting.add(r));
        continue;
      }
      const job = queue.splice(i, 1)[0]!;
      for (const l of job.locks) held.add(l);
      try {
        await run(job, n);
      } finally {
        for (const l of job.locks) held.delete(l);
        for (const w of [...waiting]) { waiting.delete(w); w(); }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(lanes, jobs.length)) }, (_, i) => lane(i + 1)));
}
