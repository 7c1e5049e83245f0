// bin/xsforge runs the CLI from an esbuild bundle it remakes when a source file
// changes; the fingerprint walks top-level folders. Every folder the CLI imports
// from must be walked, or an edit there keeps serving the old bundle (guest/ and
// target/ once were not).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../cli/shared.ts';
import { localImportClosure } from '../../core/imports.ts';

test('the CLI bundle fingerprint walks every folder in the CLI\'s import closure', () => {
  const text = readFileSync(join(REPO_ROOT, 'bin', 'xsforge'), 'utf8');
  const m = /const NOT_SOURCE = new Set\(\[([^\]]*)\]\)/.exec(text);
  assert.ok(m, 'bin/xsforge names the folders it leaves out in NOT_SOURCE');
  const excluded = new Set([...m[1]!.matchAll(/'([^']+)'/g)].map((x) => x[1]!));
  const folders = new Set(localImportClosure(join(REPO_ROOT, 'cli', 'main.ts')).map((f) => f.slice(REPO_ROOT.length + 1).split('/')[0]!));
  assert.ok(folders.has('target') && folders.has('guest'), [...folders].join(' '));
  for (const f of folders) assert.not.ok(excluded.has(f), `bin/xsforge leaves out ${f}/, which the CLI imports`);
});

test.run();
