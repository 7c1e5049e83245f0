// Comps XML: what createrepo_c -g copies and yum/dnf read for `install @group`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseComps, productGroups, renderComps, validateGroups, type CompsGroup } from '../../repo/comps.ts';
import { XsforgeError } from '../../core/errors.ts';

const groups = productGroups(['bash', 'coreutils'], ['xen-hypervisor', 'xapi']);

test('product groups: xenserver_base and xenserver_dom0, dom0 requiring base', () => {
  assert.equal(groups.map((g) => g.id), ['xenserver_base', 'xenserver_dom0']);
  assert.equal(groups[1].groupreqs, ['xenserver_base']);
  assert.equal(groups[0].groupreqs, undefined);
});

test('renders the comps document yum and dnf read', () => {
  const xml = renderComps(groups);
  assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">\n<comps>\n'));
  assert.match(xml, /<group>\n {4}<id>xenserver_dom0<\/id>\n {4}<name>XenServer dom0<\/name>/);
  assert.match(xml, /<grouplist>\n {6}<groupreq>xenserver_base<\/groupreq>\n {4}<\/grouplist>/);
  assert.match(xml, /<packagereq type="mandatory">xen-hypervisor<\/packagereq>/);
  assert.match(xml, /<default>true<\/default>\n {4}<uservisible>true<\/uservisible>/);
  // base has no grouplist
  const base = xml.slice(xml.indexOf('<id>xenserver_base'), xml.indexOf('<id>xenserver_dom0'));
  assert.not.match(base, /grouplist/);
  assert.ok(xml.endsWith('</comps>\n'));
});

test('escapes text and round-trips through the parser', () => {
  const g: CompsGroup[] = [{
    id: 'tools', name: 'Tools & <things>', description: 'a "quoted" description', default: false, uservisible: false,
    packages: [{ name: 'a', type: 'mandatory' }, { name: 'b', type: 'default' }, { name: 'c', type: 'optional' }],
  }];
  const xml = renderComps(g);
  assert.match(xml, /<name>Tools &amp; &lt;things&gt;<\/name>/);
  assert.equal(parseComps(xml), [{ ...g[0], groupreqs: [] }]);
  assert.equal(parseComps(renderComps(groups)).map((x) => [x.id, x.packages.map((p) => p.name), x.groupreqs]),
    [['xenserver_base', ['bash', 'coreutils'], []], ['xenserver_dom0', ['xen-hypervisor', 'xapi'], ['xenserver_base']]]);
});

test('rejects groups that would make a broken repository', () => {
  const bad = (g: CompsGroup[], re: RegExp) => {
    try {
      validateGroups(g);
      assert.unreachable('accepted');
    } catch (e) {
      assert.instance(e, XsforgeError);
      assert.match((e as Error).message, re);
    }
  };
  const one = (over: Partial<CompsGroup>): CompsGroup => ({ id: 'g', name: 'G', description: '', default: true, uservisible: true, packages: [], ...over });
  bad([one({ groupreqs: ['nope'] })], /requires group nope, which is not defined/);
  bad([one({}), one({})], /defined twice/);
  bad([one({ id: 'has space' })], /not allowed/);
  bad([one({ packages: [{ name: 'x', type: 'mandatory' }, { name: 'x', type: 'default' }] })], /lists package x twice/);
  bad([one({ packages: [{ name: 'x', type: 'conditional' as any }] })], /type "conditional"/);
});

test.run();
