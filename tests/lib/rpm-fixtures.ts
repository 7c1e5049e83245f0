// Tiny noarch RPMs built by the real rpmbuild, for repository tests and the
// benchmark. Packages that share version-release go into one spec as
// `%package -n` subpackages (one rpmbuild process per batch: its ~0.15 s start
// dominates a tiny package's ~20 ms), and batches run in parallel.
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from '../../core/exec.ts';

export interface TestRpmSpec {
  name: string;
  version: string;
  release?: string;
  provides?: string[];
  requires?: string[];
  /** absolute path in the package -> file content; default one README under /usr/share/doc/<name> */
  files?: Record<string, string>;
}

export interface MakeTestRpmsOptions {
  sourceDateEpoch?: number;
  /** most subpackages per rpmbuild run */
  batchSize?: number;
  /** rpmbuild processes at once */
  jobs?: number;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const VERSION_RE = /^[A-Za-z0-9._+~]+$/;
const PATH_RE = /^\/[A-Za-z0-9._+/-]+$/;
const DEP_RE = /^[^\n%,]+$/;

/** Builds the RPMs into `dir`; returns their paths in the order of `specs`. */
export async function makeTestRpms(dir: string, specs: TestRpmSpec[], opts: MakeTestRpmsOptions = {}): Promise<string[]> {
  const epoch = opts.sourceDateEpoch ?? 1_533_081_600;
  const jobs = Math.max(1, opts.jobs ?? cpus().length);
  const seen = new Set<string>();
  for (const s of specs) {
    if (!NAME_RE.test(s.name)) throw new Error(`bad test package name ${JSON.stringify(s.name)}`);
    if (!VERSION_RE.test(s.version) || !VERSION_RE.test(s.release ?? '1')) throw new Error(`bad version-release for ${s.name}`);
    for (const d of [...(s.provides ?? []), ...(s.requires ?? [])]) if (!DEP_RE.test(d)) throw new Error(`bad dependency ${JSON.stringify(d)} in ${s.name}`);
    for (const p of Object.keys(s.files ?? {})) if (!PATH_RE.test(p)) throw new Error(`bad file path ${JSON.stringify(p)} in ${s.name}`);
    if (seen.has(s.name)) throw new Error(`test package ${s.name} given twice`);
    seen.add(s.name);
  }
  // subpackages inherit version and release from the spec's main package
  const byEvr = new Map<string, TestRpmSpec[]>();
  for (const s of specs) {
    const k = `${s.version}-${s.release ?? '1'}`;
    byEvr.set(k, [...(byEvr.get(k) ?? []), s]);
  }
  const batchSize = opts.batchSize ?? Math.max(1, Math.min(250, Math.ceil(specs.length / jobs)));
  const batches: TestRpmSpec[][] = [];
  for (const group of byEvr.values()) for (let i = 0; i < group.length; i += batchSize) batches.push(group.slice(i, i + batchSize));

  await mkdir(dir, { recursive: true });
  const scratch = await mkdtemp(join(tmpdir(), 'xsf-rpmfix-'));
  try {
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const i = next++;
        await buildBatch(join(scratch, `b${i}`), batches[i], i, epoch, dir);
      }
    };
    await Promise.all(Array.from({ length: Math.min(jobs, batches.length) }, worker));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return specs.map((s) => join(dir, rpmFileName(s)));
}

export function rpmFileName(s: TestRpmSpec): string {
  return `${s.name}-${s.version}-${s.release ?? '1'}.noarch.rpm`;
}

function filesOf(s: TestRpmSpec): Record<string, string> {
  return s.files ?? { [`/usr/share/doc/${s.name}/README`]: `${s.name} ${s.version}\n` };
}

async function buildBatch(top: string, pkgs: TestRpmSpec[], index: number, epoch: number, dest: string): Promise<void> {
  const stage = join(top, 'stage');
  const home = join(top, 'home');
  await mkdir(home, { recursive: true });
  for (const p of pkgs) {
    for (const [path, content] of Object.entries(filesOf(p))) {
      const abs = join(stage, path);
      await mkdir(dirname(abs), { recursive: true });
      await writeFile(abs, content);
    }
  }
  const first = pkgs[0];
  const lines = [
    `Name: xsforge-test-batch${index}`,
    `Version: ${first.version}`,
    `Release: ${first.release ?? '1'}`,
    'Summary: xsforge test packages',
    'License: MIT',
    'BuildArch: noarch',
    '%description',
    'xsforge test packages (the main package has no %files, so is not built)',
  ];
  for (const p of pkgs) {
    lines.push(`%package -n ${p.name}`, `Summary: test package ${p.name}`);
    for (const d of p.provides ?? []) lines.push(`Provides: ${d}`);
    for (const d of p.requires ?? []) lines.push(`Requires: ${d}`);
    lines.push(`%description -n ${p.name}`, `test package ${p.name}`);
  }
  lines.push('%install', `cp -a ${stage}/. %{buildroot}/`);
  for (const p of pkgs) lines.push(`%files -n ${p.name}`, ...Object.keys(filesOf(p)));
  const spec = join(top, 'batch.spec');
  await writeFile(spec, lines.join('\n') + '\n');
  await run(['rpmbuild', '-bb', '--quiet',
    '--define', `_topdir ${top}`,
    '--define', '_binary_payload w9.xzdio',
    '--define', '_buildhost xsforge-test',
    '--define', 'use_source_date_epoch_as_buildtime 1',
    '--define', 'clamp_mtime_to_source_date_epoch 1',
    // no brp scripts, debuginfo or build-id links: nothing to strip in text files, and they cost time
    '--define', '__os_install_post %{nil}',
    '--define', 'debug_package %{nil}',
    '--define', '_build_id_links none',
    '--define', '_rpmfilename %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm',
    spec], {
    // HOME in scratch so no ~/.rpmmacros changes the packages
    env: { HOME: home, SOURCE_DATE_EPOCH: String(epoch), LC_ALL: 'C', TZ: 'UTC' },
    captureStdout: false,
  });
  const built = join(top, 'RPMS');
  // copy, not rename: the destination may be on another file system
  for (const f of await readdir(built)) await copyFile(join(built, f), join(dest, f));
}
