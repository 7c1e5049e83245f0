import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { newestByName } from '../../repo/stage.ts';
import { controlPackage, updateUuid, type UpdateSpec } from '../../updates/model.ts';
import { cumulativeSpec, formatRollupReport, planRollup, RollupError, rolledUpSpec, type RollupInput, type RollupUpdate } from '../../updates/rollup.ts';
import { parseUpdateXml, renderUpdateXml } from '../../updates/update-xml.ts';

type Pkg = [name: string, version: string, release: string];

function update(kind: UpdateSpec['kind'], nameLabel: string, pkgs: Pkg[], requires: string[] = []): RollupUpdate {
  const spec: UpdateSpec = {
    kind, nameLabel, uuid: updateUuid(nameLabel, '1.0'), version: '1.0', description: `${nameLabel} (test)`, guidance: [],
    productVersion: '7.1.2', platformVersion: '2.2.0', requires, conflicts: [], rollsUp: [], livepatch: false,
    enforceHomogeneity: false, license: 'MIT', sourceDateEpoch: 1_644_364_800, rpmFiles: [],
    packages: pkgs.map(([name, version, release]) => ({
      name, version, release, summary: name, license: 'MIT', arch: 'noarch', description: name,
      provides: [], requires: [], conflicts: [], obsoletes: [], files: [], dirs: [], scriptlets: {},
    })),
  };
  return { spec, packages: pkgs.map(([name, version, release], i) => ({ name, version, release, arch: 'noarch', source: { model: i } })) };
}

const CU1 = update('cumulative-update', 'XS71ECU1', [['hostinfo', '1.1', '1']]);
const CU2 = update('cumulative-update', 'XS71ECU2', [['hostinfo', '1.2', '1'], ['netcheck', '1.0', '1'], ['snmp', '2.0', '1']], ['XS71ECU1']);
// three hotfixes on CU2; 2001 and 2003 both update hostinfo, 2003 to the newer build
const H1 = update('hotfix', 'XS71ECU2001', [['hostinfo', '1.2', '2']], ['XS71ECU2']);
const H2 = update('hotfix', 'XS71ECU2002', [['netcheck', '1.0', '2'], ['newtool', '0.9', '1']], ['XS71ECU2']);
const H3 = update('hotfix', 'XS71ECU2003', [['hostinfo', '1.2', '10']], ['XS71ECU2']);
const CU3 = update('cumulative-update', 'XS71ECU3', []);
const input = (over: Partial<RollupInput> = {}): RollupInput => ({ cu: CU3, hotfixes: [H1, H2, H3], previous: [CU1, CU2], ...over });

test('three hotfixes, two updating one package: the newer build (1.2-10 > 1.2-2 in rpm order) is in the CU, the other superseded', () => {
  const plan = planRollup(input());
  assert.equal(plan.packages.map((p) => [p.nevra, p.from]), [
    ['hostinfo-1.2-10.noarch', 'XS71ECU2003'],
    ['netcheck-1.0-2.noarch', 'XS71ECU2002'],
    ['newtool-0.9-1.noarch', 'XS71ECU2002'],
  ]);
  assert.equal(plan.superseded, [{ hotfix: 'XS71ECU2001', name: 'hostinfo', nevra: 'hostinfo-1.2-2.noarch', by: { update: 'XS71ECU2003', nevra: 'hostinfo-1.2-10.noarch' } }]);
  assert.equal(plan.supersededHotfixes, ['XS71ECU2001']);
  // every hotfix is rolled up, the superseded one too (its fix is in the newer build)
  assert.equal(plan.cu.rollsUp, [{ nameLabel: 'XS71ECU2001', version: '1.0' }, { nameLabel: 'XS71ECU2002', version: '1.0' }, { nameLabel: 'XS71ECU2003', version: '1.0' }]);
  assert.equal(plan.cu.requires, ['XS71ECU2']);
  // order does not decide: the newest build wins even when listed first
  const reordered = planRollup(input({ hotfixes: [H3, H2, H1] }));
  assert.is(reordered.packages[0].from, 'XS71ECU2003');
  assert.equal(reordered.superseded.map((s) => s.hotfix), ['XS71ECU2001']);
});

test('rolled-up-by: each hotfix names the CU and its uuid; update.xml carries it', () => {
  const plan = planRollup(input());
  for (const r of plan.rolledUp) assert.equal(r.rolledUpBy, { nameLabel: 'XS71ECU3', uuid: CU3.spec.uuid });
  const spec = rolledUpSpec(H1.spec, plan);
  assert.equal(spec.rolledUpBy, { nameLabel: 'XS71ECU3', uuid: CU3.spec.uuid });
  assert.is(H1.spec.rolledUpBy, undefined, 'the input spec is not changed');
  const xml = renderUpdateXml({ nameLabel: spec.nameLabel, uuid: spec.uuid, version: spec.version, installationSize: 1, afterApplyGuidance: [], enforceHomogeneity: false, control: 'control-XS71ECU2001', description: spec.description, rolledUpBy: spec.rolledUpBy, livepatch: false });
  assert.ok(xml.includes(`<rolled-up-by name-label="XS71ECU3" uuid="${CU3.spec.uuid}"/>`), xml);
  assert.equal(parseUpdateXml(xml).rolledUpBy, spec.rolledUpBy);
});

test('change report against the previous CUs: updated old -> new, added, kept', () => {
  const { changes } = planRollup(input());
  assert.is(changes.previous, 'XS71ECU2');
  assert.equal(changes.updated, [
    { name: 'hostinfo', old: 'hostinfo-1.2-1.noarch', new: 'hostinfo-1.2-10.noarch', from: 'XS71ECU2003' },
    { name: 'netcheck', old: 'netcheck-1.0-1.noarch', new: 'netcheck-1.0-2.noarch', from: 'XS71ECU2002' },
  ]);
  assert.equal(changes.added, [{ name: 'newtool', new: 'newtool-0.9-1.noarch', from: 'XS71ECU2002' }]);
  assert.equal(changes.carried, [{ name: 'snmp', old: 'snmp-2.0-1.noarch', from: 'XS71ECU2' }]);
  // without the previous CU's spec (only its name, from the CU's requires) everything is added
  const first = planRollup(input({ previous: [], cu: update('cumulative-update', 'XS71ECU3', [], ['XS71ECU2']) })).changes;
  assert.is(first.previous, undefined);
  assert.is(first.added.length, 3);
  const text = formatRollupReport(planRollup(input())).join('\n');
  assert.match(text, /updated {3}hostinfo-1\.2-1\.noarch -> hostinfo-1\.2-10\.noarch {2}\(XS71ECU2003\)/);
  assert.match(text, /hostinfo-1\.2-2\.noarch of XS71ECU2001 {2}by hostinfo-1\.2-10\.noarch of XS71ECU2003/);
  assert.match(text, /rolls up {3}XS71ECU2001 \(superseded\), XS71ECU2002, XS71ECU2003/);
});

test('the CU spec: requires the previous CU, provides each hotfix, carries the chosen builds as files', () => {
  const plan = planRollup(input());
  const spec = cumulativeSpec(CU3.spec, plan, (from, pkg) => `/built/${from}/${pkg.nevra}.rpm`);
  assert.equal(spec.rpmFiles, ['/built/XS71ECU2003/hostinfo-1.2-10.noarch.rpm', '/built/XS71ECU2002/netcheck-1.0-2.noarch.rpm', '/built/XS71ECU2002/newtool-0.9-1.noarch.rpm']);
  assert.equal(spec.packages, []);
  const control = controlPackage(spec, '<update/>');
  assert.ok(control.requires.includes('xsforge-update(XS71ECU2)'), control.requires.join());
  for (const h of ['XS71ECU2001', 'XS71ECU2002', 'XS71ECU2003']) assert.ok(control.provides.includes(`xsforge-update(${h}) = 1.0`), h);
  // the CU's own packages join in; a build identical to a hotfix's is left out, not superseded
  const own = update('cumulative-update', 'XS71ECU3', [['hostinfo', '1.2', '10'], ['extra', '1.0', '1']]);
  const p2 = planRollup(input({ cu: own }));
  assert.equal(p2.packages.find((p) => p.name === 'hostinfo')!.from, 'XS71ECU2003');
  assert.equal(p2.duplicates, [{ update: 'XS71ECU3', nevra: 'hostinfo-1.2-10.noarch', same: 'XS71ECU2003' }]);
  const s2 = cumulativeSpec(own.spec, p2, () => '/f.rpm');
  assert.equal(s2.packages.map((p) => p.name), ['extra']);
});

test('base-install media: the chain of CUs, and what is unmet without the earlier ones', () => {
  assert.equal(planRollup(input()).media, { updates: ['XS71ECU1', 'XS71ECU2', 'XS71ECU3'], unmet: [] });
  assert.equal(planRollup(input({ previous: [CU2] })).media.unmet, ['XS71ECU2 requires XS71ECU1']);
});

test('refused: wrong kinds, a hotfix not on the previous CU, a downgrade, the same hotfix twice', () => {
  const problems = (i: RollupInput) => {
    try {
      planRollup(i);
    } catch (e) {
      assert.instance(e, RollupError);
      return (e as RollupError).problems;
    }
    assert.unreachable('planRollup accepted it');
    return [];
  };
  assert.ok(problems(input({ cu: H1 })).some((p) => /XS71ECU2001 is a hotfix; the rollup makes a cumulative-update/.test(p)));
  assert.ok(problems(input({ hotfixes: [H1, CU2] })).some((p) => /XS71ECU2 is a cumulative-update; only hotfixes are rolled up/.test(p)));
  const onCu1 = update('hotfix', 'XS71ECU1042', [['x', '1', '1']], ['XS71ECU1']);
  assert.ok(problems(input({ hotfixes: [onCu1] })).some((p) => /does not require XS71ECU2, the cumulative update this rollup follows/.test(p)));
  const old = update('hotfix', 'XS71ECU2009', [['snmp', '1.0', '1']], ['XS71ECU2']);
  assert.ok(problems(input({ hotfixes: [old] })).some((p) => /snmp-1\.0-1\.noarch \(from XS71ECU2009\) is older than snmp-2\.0-1\.noarch from XS71ECU2/.test(p)));
  assert.ok(problems(input({ hotfixes: [H1, H1] })).some((p) => /listed twice/.test(p)));
  assert.ok(problems(input({ hotfixes: [] })).some((p) => /no hotfixes/.test(p)));
});

test('repository: one build per name, the newest in rpm order; equal versions keep the first listed', () => {
  const r = newestByName([
    { file: 'built/xenserver-release-7.1.2-1.noarch.rpm', name: 'xenserver-release', version: '7.1.2', release: '1', arch: 'noarch' },
    { file: 'built/kernel-6.1.129-1.x86_64.rpm', name: 'kernel', version: '6.1.129', release: '1', arch: 'x86_64' },
    { file: 'cu2/hostinfo-1.2-1.noarch.rpm', name: 'hostinfo', version: '1.2', release: '1', arch: 'noarch' },
    { file: 'cu3/hostinfo-1.2-10.noarch.rpm', name: 'hostinfo', version: '1.2', release: '10', arch: 'noarch' },
    { file: 'cu3/kernel-6.1.129-1.x86_64.rpm', name: 'kernel', version: '6.1.129', release: '1', arch: 'x86_64' },
    { file: 'cu3/hostinfo-1.2-9.noarch.rpm', name: 'hostinfo', version: '1.2', release: '9', arch: 'noarch' },
  ]);
  assert.equal(r.keep, ['built/xenserver-release-7.1.2-1.noarch.rpm', 'built/kernel-6.1.129-1.x86_64.rpm', 'cu3/hostinfo-1.2-10.noarch.rpm']);
  assert.equal(r.dropped.map((d) => [d.file, d.same, d.by.nevra]), [
    ['cu2/hostinfo-1.2-1.noarch.rpm', false, 'hostinfo-1.2-10.noarch'],
    ['cu3/kernel-6.1.129-1.x86_64.rpm', true, 'kernel-6.1.129-1.x86_64'],
    ['cu3/hostinfo-1.2-9.noarch.rpm', false, 'hostinfo-1.2-10.noarch'],
  ]);
});

test.run();
