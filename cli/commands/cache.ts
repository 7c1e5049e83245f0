// `xsforge cache ls|verify|gc|path`: look after the stage cache (core/cache.ts).
// ls lists entries with size and last use, verify re-hashes every file against
// its manifest (builds only check sizes and mtimes), gc evicts least-recently-used
// entries down to a size and never one a running build holds.
import { Command, InvalidArgumentError } from '@commander-js/extra-typings';
import { existsSync } from 'node:fs';
import { StageCache, defaultCacheRoot } from '../../core/cache.ts';
import { entryKeys, gcCache, listEntries, removeEntries, verifyEntry, type VerifyResult } from '../../core/cache-maintenance.ts';
import { formatBytes, parseSize, SIZE_SYNTAX } from '../../disk/size.ts';

function sizeArg(value: string): number {
  try {
    return parseSize(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** "45 s", "12 min", "3.5 h", "4 d": how long ago, for people. */
export function formatAgo(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

const CACHE_OPTION_HELP = 'stage cache directory (default $XSFORGE_CACHE or ~/.cache/xsforge)';

/** The cache at `dir`, or undefined when nothing was ever built there (do not create it just to list it). */
function openCache(dir: string): StageCache | undefined {
  return existsSync(dir) ? new StageCache(dir) : undefined;
}

export function register(program: Command): void {
  const cache = program
    .command('cache')
    .summary('list, verify and trim the stage cache')
    .description('The stage cache holds each stage\'s outputs by the hash of its inputs. Builds check entries cheaply (sizes, mtimes); these commands look closer.');

  cache
    .command('path')
    .description('print the stage cache directory')
    .option('--cache <dir>', CACHE_OPTION_HELP)
    .addHelpText('after', `
Examples:
  xsforge cache path
  du -sh "$(xsforge cache path)"
  XSFORGE_CACHE=/srv/xsforge-cache xsforge cache path`)
    .action((o) => {
      process.stdout.write(`${o.cache ?? defaultCacheRoot()}\n`);
    });

  cache
    .command('ls')
    .description('list cache entries, least recently used first: stage, key, size, last used, age')
    .option('--cache <dir>', CACHE_OPTION_HELP)
    .option('--json', 'print the entries as JSON')
    .addHelpText('after', `
Examples:
  xsforge cache ls
  xsforge cache ls --cache /srv/xsforge-cache
  xsforge cache ls --json | jq '.entries[] | select(.stage == "iso")'`)
    .action(async (o) => {
      const root = o.cache ?? defaultCacheRoot();
      const c = openCache(root);
      const entries = c ? await listEntries(c) : [];
      const total = entries.reduce((a, e) => a + e.sizeBytes, 0);
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ root, totalBytes: total, entries: entries.map((e) => ({ ...e, lastUsed: new Date(e.lastUsedMs).toISOString(), committed: e.committedMs === undefined ? undefined : new Date(e.committedMs).toISOString() })) }, null, 2)}\n`);
        return;
      }
      const now = Date.now();
      const rows = entries.map((e) => [e.stage ?? '(no manifest)', e.key.slice(0, 16), formatBytes(e.sizeBytes), `${formatAgo(now - e.lastUsedMs)} ago`, e.committedMs === undefined ? '?' : formatAgo(now - e.committedMs)]);
      const head = ['STAGE', 'KEY', 'SIZE', 'LAST USED', 'AGE'];
      const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
      for (const r of [head, ...rows]) process.stdout.write(`${r.map((x, i) => (i === 2 ? x.padStart(w[i]) : x.padEnd(w[i]))).join('  ').trimEnd()}\n`);
      process.stdout.write(`${entries.length} entries, ${formatBytes(total)} in ${root}\n`);
    });

  cache
    .command('verify')
    .description('re-hash every file of every entry against its manifest; exit status 1 when any entry is damaged')
    .option('--cache <dir>', CACHE_OPTION_HELP)
    .option('--fix', 'remove damaged entries (the next build rebuilds them); entries a running build holds are left')
    .option('--json', 'print the results as JSON')
    .addHelpText('after', `
Builds only compare each file's size and mtime with the manifest; verify reads
every byte, so it also finds a change that kept both (e.g. a disk error, or an
edit followed by touch -d).

Examples:
  xsforge cache verify
  xsforge cache verify --fix
  xsforge cache verify --json --cache /srv/xsforge-cache`)
    .action(async (o) => {
      const root = o.cache ?? defaultCacheRoot();
      const c = openCache(root);
      const results: VerifyResult[] = [];
      if (c) for (const key of entryKeys(c)) results.push(await verifyEntry(c, key));
      const damaged = results.filter((r) => !r.ok);
      let removed: string[] = [];
      let held: string[] = [];
      if (o.fix && c && damaged.length) ({ removed, held } = await removeEntries(c, damaged.map((r) => r.key)));
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ root, ok: damaged.length === 0, checked: results.length, damaged, removed, held }, null, 2)}\n`);
      } else {
        for (const r of damaged) {
          const fate = removed.includes(r.key) ? ' (removed)' : held.includes(r.key) ? ' (in use by a running build: not removed)' : '';
          process.stdout.write(`DAMAGED ${r.stage ?? '(no manifest)'} ${r.key.slice(0, 16)}${fate}\n${r.problems.map((p) => `  ${p}`).join('\n')}\n`);
        }
        process.stdout.write(`${results.length} entries checked, ${damaged.length} damaged${o.fix ? `, ${removed.length} removed` : damaged.length ? ' (xsforge cache verify --fix removes them)' : ''}\n`);
      }
      if (damaged.length) process.exitCode = 1;
    });

  cache
    .command('gc')
    .description('evict least-recently-used entries until the cache is at most SIZE; entries a running build uses are kept')
    .requiredOption('--max-size <SIZE>', 'largest total size to keep', sizeArg)
    .option('--cache <dir>', CACHE_OPTION_HELP)
    .option('--dry-run', 'only print what would be evicted')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
SIZE is ${SIZE_SYNTAX}.
The total counts stage entries (stages/), not downloads. gc also removes the
scratch directories of builds that were killed.

Examples:
  xsforge cache gc --max-size 20G
  xsforge cache gc --max-size 500M --dry-run
  xsforge cache gc --max-size 0 --json      # everything no running build holds`)
    .action(async (o) => {
      const root = o.cache ?? defaultCacheRoot();
      const c = openCache(root);
      if (!c) {
        if (o.json) process.stdout.write(`${JSON.stringify({ root, maxBytes: o.maxSize, totalBytes: 0, afterBytes: 0, evict: [], removed: [], skippedHeld: [], dryRun: !!o.dryRun }, null, 2)}\n`);
        else process.stdout.write(`${root}: no cache here\n`);
        return;
      }
      const stages = new Map((await listEntries(c)).map((e) => [e.key, e.stage ?? '(no manifest)']));
      const r = await gcCache(c, o.maxSize, !!o.dryRun);
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ root, ...r }, null, 2)}\n`);
        return;
      }
      const verb = r.dryRun ? 'would evict' : 'evicted';
      for (const k of r.dryRun ? r.evict : r.removed) process.stdout.write(`${verb} ${stages.get(k)} ${k.slice(0, 16)}\n`);
      for (const k of r.skippedHeld) process.stdout.write(`kept   ${stages.get(k)} ${k.slice(0, 16)} (in use by a running build)\n`);
      process.stdout.write(`${formatBytes(r.totalBytes)} -> ${formatBytes(r.afterBytes)} (limit ${formatBytes(r.maxBytes)})${r.afterBytes > r.maxBytes ? ': still over, the rest is in use' : ''}\n`);
    });
}
