// The import scan behind the install-img stage key: every local file the
// installer runtime bundle is made of must be an input of the stage.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { REPO_ROOT } from '../../cli/shared.ts';
import { localImportClosure, relativeImports } from '../../core/imports.ts';

test('static, type-only, side-effect and dynamic relative imports; packages are not followed', () => {
  const text = [
    "import { a } from './a.ts';",
    "import type { B } from '../b/b.ts';",
    "export { c } from './c.ts';",
    "import './side.ts';",
    "const d = await import('./d.ts');",
    "import { build } from 'esbuild';",
    "import { x } from 'node:fs';",
  ].join('\n');
  assert.equal(relativeImports(text), ['./a.ts', '../b/b.ts', './c.ts', './side.ts', './d.ts']);
});

test('the installer runtime closure reaches the pure folders it bundles', () => {
  const files = localImportClosure(join(REPO_ROOT, 'installer/runtime/main.ts')).map((f) => f.slice(REPO_ROOT.length + 1));
  for (const f of ['installer/runtime/main.ts', 'installer/runtime/packages.ts', 'answerfiles/parse.ts', 'disk/layout.ts', 'disk/device.ts', 'repo/verify.ts', 'core/exec.ts',
    'target/host-files.ts', 'target/grub.ts', 'target/boot-args.ts', 'upgrade/plan.ts']) {
    assert.ok(files.includes(f), f);
  }
  assert.not.ok(files.some((f) => f.startsWith('cli/')), 'the CLI is not part of the runtime');
  // target/ is pure and small: the recipe schema (typebox, ajv) stays out of install.img
  assert.not.ok(files.some((f) => f.startsWith('recipes/')), 'the recipe loader is not part of the runtime');
  // the host tool table changes with the build's needs; it must not change install.img's key
  assert.not.ok(files.includes('core/tools.ts'), 'core/tools.ts is not in the runtime (findOnPath comes from core/which.ts)');
});

test.run();
