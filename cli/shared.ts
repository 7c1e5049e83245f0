// Small things several commands share.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XsforgeError } from '../core/errors.ts';
import type { LoadedRecipe } from '../recipes/load.ts';

export const REPO_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const DEFAULT_RECIPE = join(REPO_ROOT, 'recipes', 'xenserver-7.1.2.yaml');

/** SOURCE_DATE_EPOCH from the environment wins over the recipe's. */
export function epochFor(recipe: LoadedRecipe): number {
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env === undefined || env === '') return recipe.source_date_epoch;
  if (!/^\d+$/.test(env)) throw new XsforgeError(`SOURCE_DATE_EPOCH must be a whole number of seconds, got '${env}'`);
  return Number(env);
}
