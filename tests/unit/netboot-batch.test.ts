// The batch paths that make 10,000-host trees fast must not change a byte or a
// rule: netbootConfigs equals the one-file-at-a-time renderers, and
// forEachLimited keeps its bound, runs everything, and stops cleanly on a failure.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_RECIPE } from '../../cli/shared.ts';
import { buildMenu } from '../../media/menu.ts';
import {
  GRUB_NET_PATHS, PXE_PATHS, grubNetConfig, netbootConfigs, pxelinuxDefault, pxelinuxHost, pxelinuxHostFileName, type NetbootHost,
} from '../../netboot/pxe-config.ts';
import { answerUrl, forEachLimited } from '../../netboot/tree.ts';
import { loadRecipe } from '../../recipes/load.ts';

const recipe = loadRecipe(DEFAULT_RECIPE);
const menu = buildMenu(recipe);
const id = { brand: 'XenServer', version: '7.1.2', build: '137272c' };
const BASE = 'http://192.0.2.1:8080';

function host(i: number, extra: Partial<NetbootHost> = {}): NetbootHost {
  const mac = `52:54:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
  return { mac, hostname: `h${i}.lab`, answerfileUrl: answerUrl(BASE, mac), xenArgs: [], dom0Args: [`answerfile_device=${mac}`], ...extra };
}

test('netbootConfigs: byte for byte what pxelinuxDefault, pxelinuxHost and grubNetConfig give, hosts sorted by MAC', () => {
  // unsorted, upper-case MAC, a VGA host from another base entry, extra arguments
  const hosts = [
    host(3, { xenArgs: ['console=vga'], baseLabel: 'no-serial' }),
    { ...host(1), mac: '52:54:00:00:00:01'.toUpperCase() },
    host(2, { dom0Args: ['network_config=static:ip=192.0.2.22;netmask=255.255.255.0;gateway=192.0.2.1', 'install'] }),
  ];
  const c = netbootConfigs(menu, hosts, id);
  assert.equal(c.hosts.map((h) => h.mac), ['52:54:00:00:00:01', '52:54:00:00:00:02', '52:54:00:00:00:03']);
  assert.is(c.pxelinuxDefault, pxelinuxDefault(menu, PXE_PATHS, id));
  assert.is(c.grubNet, grubNetConfig(menu, hosts, GRUB_NET_PATHS, id));
  assert.equal(c.pxelinuxHosts.map((f) => f.name), c.hosts.map((h) => pxelinuxHostFileName(h.mac)));
  c.hosts.forEach((h, k) => assert.is(c.pxelinuxHosts[k]!.text, pxelinuxHost(menu, h, PXE_PATHS, id), h.mac));
  assert.match(c.pxelinuxHosts[2]!.text, /console=vga/);
});

test('netbootConfigs: the host checks still apply (duplicate MAC, bad argument)', () => {
  assert.throws(() => netbootConfigs(menu, [host(1), { ...host(1), hostname: 'other' }], id), /same MAC 52:54:00:00:00:01/);
  assert.throws(() => netbootConfigs(menu, [host(1, { dom0Args: ['two words'] })], id), /cannot go on a boot line/);
});

const tick = () => new Promise<void>((r) => setImmediate(r));

test('forEachLimited: every item once, never more than the limit in flight', async () => {
  let inFlight = 0;
  let most = 0;
  const seen: number[] = [];
  await forEachLimited(Array.from({ length: 100 }, (_, i) => i), 7, async (i) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await tick();
    if (i % 3 === 0) await tick();
    seen.push(i);
    inFlight--;
  });
  assert.is(most, 7);
  assert.equal([...seen].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  await forEachLimited([], 4, async () => { throw new Error('never called'); });
});

test('forEachLimited: the first error, after the calls in flight have ended, and no new call after it', async () => {
  const started: number[] = [];
  const ended: number[] = [];
  let rejectedWhileBusy = false;
  const p = forEachLimited(Array.from({ length: 50 }, (_, i) => i), 4, async (i) => {
    started.push(i);
    await tick();
    if (i === 5) throw new Error('item 5 failed');
    if (i === 6) throw new Error('item 6 failed too');
    await tick();
    await tick();
    ended.push(i);
  });
  p.catch(() => { rejectedWhileBusy = started.length !== ended.length + (started.includes(6) ? 2 : 1); });
  try {
    await p;
    assert.unreachable('must reject');
  } catch (err) {
    assert.is((err as Error).message, 'item 5 failed');
  }
  assert.not.ok(rejectedWhileBusy, 'rejected only once every started call had ended');
  assert.ok(Math.max(...started) <= 5 + 4, `no call started long after the failure (last: ${Math.max(...started)})`);
});

test.run();
