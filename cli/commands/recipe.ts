// xsforge recipe validate|schema: check recipes without building anything.
import type { Command } from '@commander-js/extra-typings';
import { RecipeError, loadRecipe } from '../../recipes/load.ts';
import { RECIPE_SCHEMA } from '../../recipes/schema.ts';
import { XsforgeError } from '../../core/errors.ts';

export function register(program: Command): void {
  const recipe = program.command('recipe').description('Check recipes and show their schema');
  recipe.command('validate')
    .description('Validate recipe files; exit 0 only if all are valid')
    .argument('<files...>', 'recipe files')
    .option('--json', 'one JSON object per file: {file, valid, errors[]}')
    .action((files, o) => {
      let bad = 0;
      const results = files.map((file) => {
        try {
          loadRecipe(file);
          return { file, valid: true, errors: [] as unknown[] };
        } catch (err) {
          bad++;
          if (err instanceof RecipeError) return { file, valid: false, errors: err.errors, message: err.message };
          if (err instanceof XsforgeError) return { file, valid: false, errors: [{ file, message: err.message }], message: err.message };
          throw err;
        }
      });
      if (o.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      else for (const r of results) process.stdout.write(r.valid ? `${r.file}: valid\n` : `${(r as { message: string }).message}\n`);
      if (bad) process.exitCode = 1;
    });
  recipe.command('schema')
    .description('Print the recipe JSON Schema')
    .action(() => { process.stdout.write(`${JSON.stringify(RECIPE_SCHEMA, null, 2)}\n`); });
}
