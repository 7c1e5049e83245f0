// Registry of commands; add a line per command module.
import type { Command } from '@commander-js/extra-typings';
import { register as answerfile } from './answerfile.ts';
import { register as answerfilePlan } from './answerfile-plan.ts';
import { register as build } from './build.ts';
import { register as cache } from './cache.ts';
import { register as diskImage } from './disk-image.ts';
import { register as doctor } from './doctor.ts';
import { register as inspect } from './inspect.ts';
import { register as inventory } from './inventory.ts';
import { register as layout } from './layout.ts';
import { register as pxe } from './pxe.ts';
import { register as recipe } from './recipe.ts';
import { register as serve } from './serve.ts';
import { register as testGuest } from './test-guest.ts';
import { register as update } from './update.ts';
import { register as vm } from './vm.ts';

export type Register = (program: Command) => void;

export const commands: Register[] = [answerfile, answerfilePlan, build, cache, diskImage, doctor, inspect, inventory, layout, pxe, recipe, serve, testGuest, update, vm];
