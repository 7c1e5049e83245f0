// xsforge build: recipe -> stages -> output/<name>/ (ISO + manifest.json).
import type { Command } from '@commander-js/extra-typings';
import { join, resolve } from 'node:path';
import { StageCache, defaultCacheRoot } from '../../core/cache.ts';
import { runGraph } from '../../core/engine.ts';
import { RecordingReporter, pickReporter } from '../../core/events.ts';
import { outputIsCurrent, publish } from '../../core/output.ts';
import { requireTool, type ToolName } from '../../core/tools.ts';
import { collectStages } from '../../core/engine.ts';
import { loadRecipe } from '../../recipes/load.ts';
import { factoryRecipe, planIsoBuild } from '../pipeline.ts';
import { readFileSync } from 'node:fs';
import { XsforgeError } from '../../core/errors.ts';
import { validateAnswerFile } from '../../answerfiles/parse.ts';
import { DEFAULT_RECIPE, epochFor } from '../shared.ts';
import { readCarriedTimeline, writeBuildReport } from '../../report/write.ts';

export function register(program: Command): void {
  program.command('build')
    .description('Build the install media a recipe describes into output/<name>/ (ISO and manifest.json)')
    .argument('[recipe]', 'recipe file', DEFAULT_RECIPE)
    .option('-o, --output <dir>', 'output root; results go to <dir>/<recipe name>/', 'output')
    .option('--cache <dir>', 'stage cache directory (default $XSFORGE_CACHE or ~/.cache/xsforge)')
    .option('-j, --jobs <n>', 'stages run in parallel', '2')
    .option('--explain', 'say, for each stage that runs, which of its inputs changed')
    .option('--json', 'one JSON event per line on stdout (stage start/finish/cached/failed, artifacts)')
    .option('-q, --quiet', 'print only failures and the result')
    .option('--force <stages...>', 'run these stages even if their output is cached (e.g. --force iso)')
    .option('--refresh-index', 'fetch the Debian package index again before resolving packages')
    .option('--answerfile <file>', 'factory media: carry this answer file on the ISO and make its default entry install unattended from it (output/<name>-factory/)')
    .option('--sign-key <key>', 'gpg key (id, fingerprint or user id in $GNUPGHOME or ~/.gnupg) that signs the RPMs and repository metadata; overrides the recipe\'s repository.sign_key')
    .action(async (recipePath, o) => {
      const started = Date.now();
      let recipe = loadRecipe(recipePath);
      let answerFile: string | undefined;
      if (o.answerfile) {
        // checked before anything is built: factory media with a bad answer file would fail on the line
        answerFile = resolve(o.answerfile);
        let text: string;
        try {
          text = readFileSync(answerFile, 'utf8');
        } catch (e) {
          throw new XsforgeError(`cannot read the answer file ${o.answerfile}: ${(e as Error).message}`);
        }
        const v = validateAnswerFile(text);
        if (!v.valid) {
          throw new XsforgeError(`${o.answerfile} is not a valid answer file:\n${v.errors.map((e) => `  ${o.answerfile}${e.line !== undefined ? `:${e.line}` : ''}: ${e.message}`).join('\n')}`,
            'check it with `xsforge answerfile validate`');
        }
        recipe = factoryRecipe(recipe);
      }
      const epoch = epochFor(recipe);
      const cacheRoot = o.cache ?? defaultCacheRoot();
      const cache = new StageCache(cacheRoot);
      const graph = await planIsoBuild(recipe, { cacheRoot, refreshIndex: o.refreshIndex, signKey: o.signKey, answerFile });
      // every host tool the graph runs must exist before any work starts
      const tools = new Set<ToolName>(['apt-get']);
      for (const s of collectStages(graph.targets)) for (const t of s.tools ?? []) tools.add(t);
      for (const t of tools) requireTool(t);
      // records the stage timeline for output/<name>/report.html
      const reporter = new RecordingReporter(pickReporter({ json: o.json, explain: o.explain, quiet: o.quiet }), Number(o.jobs));
      const outDir = resolve(o.output, recipe.name);
      const lastRun = readCarriedTimeline(outDir);
      // a report that cannot be written costs a warning, never the build
      const writeReport = (published: boolean, res?: Awaited<ReturnType<typeof runGraph>>) =>
        writeBuildReport({ outDir, recipe, timeline: reporter.timeline(), published, results: res, lastRun })
          .catch((e) => { process.stderr.write(`warning: cannot write the build report: ${(e as Error).message}\n`); });
      if (!o.quiet && !o.json && !(o.signKey ?? recipe.repository?.sign_key)) process.stderr.write('note: unsigned build (no --sign-key, no repository.sign_key): RPMs and repodata carry no signature\n');
      let results;
      try {
        results = await runGraph(graph.targets, { cache, reporter, jobs: Number(o.jobs), sourceDateEpoch: epoch, scope: recipe.name, explain: o.explain, force: o.force });
      } catch (e) {
        await writeReport(false);
        throw e;
      } finally {
        reporter.close();
      }
      const sources = graph.artifacts(results);
      // sorted: stages finish in any order when they run in parallel
      const stages = Object.fromEntries([...results.values()].map((r) => [r.stage.name, r.key]).sort(([a], [b]) => (a < b ? -1 : 1)));
      let published = false;
      if (!outputIsCurrent(outDir, sources, stages)) {
        await publish(outDir, sources, {
          recipe: recipe.name,
          product: { brand: recipe.product.brand, version: recipe.product.version, build: recipe.product.build_number, platform: `${recipe.product.platform.name} ${recipe.product.platform.version}` },
          sourceDateEpoch: epoch,
          stages,
          extra: { debianPackages: graph.resolved },
        });
        published = true;
      }
      await writeReport(published, results);
      const iso = join(outDir, sources[0].path);
      if (o.json) process.stdout.write(`${JSON.stringify({ type: 'result', output: outDir, iso, manifest: join(outDir, 'manifest.json'), report: join(outDir, 'report.html'), published, durationMs: Date.now() - started, time: Date.now() })}\n`);
      else process.stderr.write(`${published ? 'wrote' : 'up to date:'} ${iso}\n`);
    });
}
