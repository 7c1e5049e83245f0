// The interactive installer's screens walked with key sequences through the pure
// reducer: the InstallConfig they produce must be the one the answer-file parser
// produces from the generated answer file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateAnswerFile } from '../../answerfiles/generate.ts';
import { parseAnswerFile } from '../../answerfiles/parse.ts';
import { answerFileToSave, buildConfig, buildSetup } from '../../installer/tui/config.ts';
import { currentScreen, type StepId, type TuiState } from '../../installer/tui/flow.ts';
import { CLEAR, renderFrame, screenLines } from '../../installer/tui/render.ts';
import { sha512Crypt } from '../../installer/runtime/sha512crypt.ts';
import { DISKS, FRESH_STATIC_CONFIG, FRESH_STATIC_KEYS, NICS, start, walk, DEFAULT_EFFECTS } from '../lib/tui.ts';

function roundTrip(s: TuiState) {
  const config = buildConfig(s);
  const parsed = parseAnswerFile(generateAnswerFile(config));
  assert.equal(parsed.errors, []);
  assert.equal(parsed.config, config);
  return config;
}

const screen = (s: TuiState) => screenLines(s).join('\n');
/** the screen with white space runs made one space: for messages wrapped over lines */
const flat = (s: TuiState) => screen(s).replace(/\s+/g, ' ');

test('a fresh install with static networking: the expected config, and the same after generate + parse', () => {
  const seen: StepId[] = [];
  const s = walk(start(), FRESH_STATIC_KEYS, DEFAULT_EFFECTS, seen);
  assert.is(s.step, 'confirm');
  assert.equal(seen, ['welcome', 'eula', 'primary-disk', 'guest-disks', 'source', 'verify', 'root-password', 'management-nic',
    'management-network', 'hostname-dns', 'timezone-region', 'timezone-city', 'time-method', 'ntp', 'confirm']);
  assert.equal(buildConfig(s), FRESH_STATIC_CONFIG);
  roundTrip(s);
  assert.match(flat(s), /ALL DATA WILL BE DESTROYED on the disk \/dev\/sda \(40 GiB, QEMU HARDDISK\) and on \/dev\/sdb\./);
  assert.match(screen(s), /plan for "install"/);
  const done = walk(s, '{enter}');
  assert.equal(done.outcome, { kind: 'config' });
  assert.equal(buildSetup(done), {
    keymap: 'us', driverDiskRequested: false, driverDisksLoaded: [], sourceVerified: false,
    hostnameFromDhcp: false, dnsFromDhcp: false, time: { method: 'ntp', fromDhcp: false },
  });
});

test('DHCP everywhere: no hostname, no name servers, NTP from DHCP; LVM and no guest storage', () => {
  const s = walk(start(), [
    '{enter}{enter}{enter}', '3{enter}', // primary nvme0n1
    '3 {enter}', // untick nvme0n1: no local SR
    '1{enter}{enter}', 'secret1{tab}secret1{enter}', '2{enter}', // management eth1
    '{enter}', '{enter}', // DHCP; hostname and DNS via DHCP
    '{enter}{enter}', // Etc / UTC
    '{enter}{enter}', // NTP, from DHCP (ticked by default)
  ]);
  assert.is(s.step, 'confirm');
  const c = roundTrip(s);
  if (c.kind !== 'install' || c.mode !== 'fresh') throw new Error(`not a fresh install: ${JSON.stringify(c)}`);
  assert.is(c.primaryDisk, '/dev/nvme0n1');
  assert.is(c.guestStorage, false);
  assert.equal(c.guestDisks, []);
  assert.is(c.srType, 'lvm');
  assert.equal(c.adminInterface, { name: 'eth1', hwaddr: '52:54:00:ab:cd:ef', proto: 'dhcp', protov6: 'none' });
  assert.is('hostname' in c, false);
  assert.equal(c.nameServers, []);
  assert.equal(c.ntpServers, []);
  assert.is(c.timezone, 'Etc/UTC');
  const setup = buildSetup(s);
  assert.equal([setup.hostnameFromDhcp, setup.dnsFromDhcp, setup.time], [true, true, { method: 'ntp', fromDhcp: true }]);
});

test('Back (Esc) walks the same screens in reverse, and the answers are still there going forward again', () => {
  let s = walk(start(), FRESH_STATIC_KEYS);
  const backSeen: StepId[] = [];
  for (let i = 0; i < 14; i++) {
    s = walk(s, '{esc}');
    backSeen.push(s.step);
  }
  assert.equal(backSeen, ['ntp', 'time-method', 'timezone-city', 'timezone-region', 'hostname-dns', 'management-network',
    'management-nic', 'root-password', 'verify', 'source', 'guest-disks', 'primary-disk', 'eula', 'welcome']);
  assert.is(walk(s, '{esc}{esc}').step, 'keymap'); // and no further: the first screen has no Back
  // forward with Enter only: every screen keeps what was typed before
  s = walk(s, '{enter}'.repeat(15));
  assert.is(s.step, 'confirm');
  assert.equal(buildConfig(s), FRESH_STATIC_CONFIG);
});

test('the Back button goes back too; a changed primary disk resets the guest disk ticks', () => {
  let s = walk(start(), '{enter}{enter}{enter}1{enter}2 ');
  assert.is(s.step, 'guest-disks');
  s = walk(s, '{tab}{tab}{tab}{enter}'); // checklist -> thin -> OK -> Back
  assert.is(s.step, 'primary-disk');
  s = walk(s, '2{enter}{enter}');
  assert.is(s.step, 'source');
  const c = walk(s, '1{enter}{enter}secret1{tab}secret1{enter}{enter}{enter}{enter}{enter}{enter}{enter}{enter}');
  assert.is(c.step, 'confirm');
  const cfg = buildConfig(c);
  assert.ok(cfg.kind === 'install' && cfg.mode === 'fresh' && cfg.primaryDisk === '/dev/sdb' && cfg.guestStorage && cfg.guestDisks.length === 0);
});

test('passwords: must match, at least 6 characters, shown masked', () => {
  let s = walk(start(), '{enter}{enter}{enter}1{enter}{enter}1{enter}{enter}');
  assert.is(s.step, 'root-password');
  s = walk(s, 'secret1{tab}secret2{enter}');
  assert.is(s.step, 'root-password');
  assert.match(screen(s), /The passwords you entered do not match\./);
  assert.match(screen(s), /Password: \[\*{7}\]/);
  assert.not.match(screen(s), /secret/);
  // the focus stays on the Confirm field
  s = walk(s, '{backspace}'.repeat(7) + 'abc{backtab}' + '{backspace}'.repeat(7) + 'abc{enter}');
  assert.match(screen(s), /The password has to be 6 characters or longer\./);
  assert.match(screen(s), /> Password: \[\*\*\*_\]/);
  assert.is(s.step, 'root-password');
});

test('static addresses are checked; VLAN field offered for 7.1 and carried in the setup, not the answer file', () => {
  let s = walk(start(), '{enter}{enter}{enter}1{enter}{enter}1{enter}{enter}secret1{tab}secret1{enter}1{enter}');
  assert.is(s.step, 'management-network');
  assert.match(screen(s), /\[ \] Use VLAN/);
  s = walk(s, '2{tab}192.168.1.300{tab}255.255.255.0{enter}');
  assert.match(screen(s), /IP address '192\.168\.1\.300' is not an IPv4 address/);
  // Enter on the Subnet mask field left the focus there
  s = walk(s, '{backtab}{backspace}{backspace}{backspace}4{tab}' + '{backspace}'.repeat(13) + '255.0.255.0{enter}');
  assert.match(screen(s), /Subnet mask '255\.0\.255\.0' is not a netmask/);
  s = walk(s, '{backspace}'.repeat(11) + '255.255.0.0{tab}{tab} {tab}4095{enter}');
  assert.match(screen(s), /VLAN ID '4095' must be a number from 1 to 4094/);
  s = walk(s, '{backspace}{backspace}{backspace}{backspace}42{enter}');
  assert.is(s.step, 'hostname-dns');
  // static management: DHCP cannot give the host name
  s = walk(s, '1{enter}');
  assert.match(flat(s), /DHCP cannot provide the host name/);
  s = walk(s, '2{tab}not_a_host{tab}{tab}9.9.9.9{enter}');
  assert.match(screen(s), /'not_a_host' is not a valid host name/);
  s = walk(s, '{backtab}{backtab}' + '{backspace}'.repeat(10) + 'myhost{enter}');
  assert.is(s.step, 'timezone-region');
  s = walk(s, '{enter}{enter}{enter}{tab}ntp.example.com{enter}');
  assert.is(s.step, 'confirm');
  const c = roundTrip(s);
  assert.ok(c.kind === 'install' && c.mode === 'fresh' && c.adminInterface.ipv4?.address === '192.168.1.4' && !('gateway' in c.adminInterface.ipv4));
  assert.is(buildSetup(s).managementVlan, 42);
  // the VLAN reaches the host's configuration (and the saved answer file, which round-trips)
  assert.ok(c.kind === 'install' && c.mode === 'fresh' && c.adminInterface.vlan === 42, JSON.stringify(c));
  // 7.0 had no VLAN field
  const old = walk(start({ productVersion: '7.0.0' }), '{enter}{enter}{enter}1{enter}{enter}1{enter}{enter}secret1{tab}secret1{enter}1{enter}2');
  assert.is(old.step, 'management-network');
  assert.not.match(screen(old), /VLAN/);
});

test('upgrade: offered only when detected; source over HTTP with static installer network; UpgradeConfig round trip', () => {
  assert.is(walk(start(), '{enter}{enter}{enter}').step, 'primary-disk'); // nothing detected: no action screen
  const detection = { installations: [{ disk: '/dev/sda', version: '7.1.1' }], backups: [{ disk: '/dev/sda', version: '7.0.0' }] };
  let s = walk(start({ detection }), '{enter}{enter}{enter}');
  assert.is(s.step, 'action');
  assert.match(screen(s), /1\) Perform clean installation\n.*2\) Upgrade XenServer 7\.1\.1 on \/dev\/sda\n.*3\) Restore XenServer 7\.0\.0 from backup on \/dev\/sda/);
  s = walk(s, '2{enter}');
  assert.is(s.step, 'source');
  s = walk(s, '2{enter}'); // HTTP or FTP
  assert.is(s.step, 'source-nic');
  s = walk(s, '2{enter}2{tab}10.0.0.5{tab}255.255.255.0{tab}10.0.0.1{tab}10.0.0.2{enter}');
  assert.is(s.step, 'source-url');
  s = walk(s, 'nfs://x{enter}');
  assert.match(screen(s), /'nfs:\/\/x' is not an http:\/\/, https:\/\/ or ftp:\/\/ URL/);
  s = walk(s, '{backspace}{backspace}{backspace}{backspace}{backspace}{backspace}{backspace}http://repo.example/xs 7.1/{tab}bob{tab}p@ss:word{enter}');
  assert.match(screen(s), /is not an http/); // a space in the URL
  s = walk(s, '{backtab}{backtab}' + '{backspace}'.repeat(5) + '/{enter}');
  assert.is(s.step, 'verify', screen(s));
  s = walk(s, '2{enter}'); // verify: answered ok by the walker
  assert.is(s.step, 'confirm');
  assert.match(screen(s), /Verification Successful/); // the overlay over the confirm screen
  s = walk(s, '{enter}');
  assert.match(screen(s), /will be upgraded to XenServer 7\.1\.2/);
  const c = roundTrip(s);
  assert.equal(c, {
    kind: 'install', mode: 'upgrade', existingInstallation: '/dev/sda',
    sources: [{ type: 'url', address: 'http://bob:p%40ss%3Aword@repo.example/xs/' }],
    bootloader: { location: 'mbr', writeBootEntry: true }, driverSources: [], scripts: [], fcoeInterfaces: [], uiConfirmationPrompt: false,
  });
  const setup = buildSetup(s);
  assert.equal(setup.installerNetwork, { device: 'eth1', mac: '52:54:00:ab:cd:ef', config: { mode: 'static', ip: '10.0.0.5', netmask: '255.255.255.0', gateway: '10.0.0.1', dns: ['10.0.0.2'] } });
  assert.is(setup.sourceVerified, true);
});

test('restore: straight to confirm; RestoreConfig round trip', () => {
  const detection = { installations: [], backups: [{ disk: '/dev/sdb', brand: 'XenServer', version: '7.1.0' }] };
  const s = walk(start({ detection }), '{enter}{enter}{enter}2{enter}');
  assert.is(s.step, 'confirm');
  assert.match(screen(s), /Confirm Restore/);
  assert.match(screen(s), /< Restore >|\[ Restore \]/);
  assert.equal(roundTrip(s), { kind: 'restore', backupDisk: '/dev/sdb', driverSources: [], scripts: [], fcoeInterfaces: [], uiConfirmationPrompt: false });
});

test('NFS source with DHCP installer network; a failed verification stays on the verify screen', () => {
  let s = walk(start(), '{enter}{enter}{enter}1{enter}{enter}3{enter}1{enter}{enter}');
  assert.is(s.step, 'source-nfs');
  s = walk(s, 'nfs.example:/export/xs{enter}');
  assert.is(s.step, 'verify');
  s = walk(s, '2{enter}', { ...DEFAULT_EFFECTS, verify: () => ({ ok: false, error: 'Packages/x.rpm: sha256 mismatch' }) });
  assert.is(s.step, 'verify');
  assert.match(screen(s), /could not be verified:\n Packages\/x\.rpm: sha256 mismatch/);
  s = walk(s, '{enter}{esc}');
  assert.is(s.step, 'source-nfs');
  s = walk(s, '{enter}1{enter}secret1{tab}secret1{enter}1{enter}{enter}{enter}{enter}{enter}{enter}{enter}');
  assert.is(s.step, 'confirm');
  const c = roundTrip(s);
  assert.ok(c.kind === 'install' && c.sources[0]!.type === 'nfs' && c.sources[0]!.address === 'nfs.example:/export/xs');
  assert.equal(buildSetup(s).installerNetwork, { device: 'eth0', mac: '52:54:00:12:34:56', config: { mode: 'dhcp' } });
});

test('one disk and one NIC: their screens are passed, and Back skips them too', () => {
  let s = walk(start({ disks: [DISKS[0]!], nics: [NICS[0]!] }), '{enter}{enter}{enter}');
  assert.is(s.step, 'guest-disks');
  assert.is(walk(s, '{esc}').step, 'eula');
  s = walk(s, '{enter}2{enter}');
  assert.is(s.step, 'source-network');
  s = walk(s, '{esc}');
  assert.is(s.step, 'source');
});

test('F1 help, F5 disk details, F9 driver disk request; Esc closes an overlay before it goes back', () => {
  let s = walk(start(), '{enter}');
  s = walk(s, '{f9}');
  assert.match(screen(s), /request to load a driver disk has been recorded/);
  s = walk(s, '{enter}{f1}');
  assert.match(screen(s), /Help: Welcome to XenServer Setup/);
  assert.match(screen(s), /F9 loads a driver disk/);
  s = walk(s, '{esc}');
  assert.is(s.step, 'welcome');
  s = walk(s, '{enter}{enter}1{enter}2{f5}');
  assert.match(screen(s), /Device: \/dev\/sdb\n Size:   100 GiB \(107374182400 bytes\)/);
  assert.is(buildSetup(s).driverDiskRequested, true);
  // with a loadDriverDisk callback, F9 loads it and the new disk list replaces the old one
  let t = walk(start({}, { install: false, suppPacks: false, driverDisk: true }), '{enter}');
  t = walk(t, '{f9}', { 'driver-disk': () => ({ ok: true, name: 'megaraid-dd', disks: [DISKS[2]!] }) });
  assert.match(screen(t), /Loaded megaraid-dd/);
  t = walk(t, '{enter}{enter}{enter}');
  assert.is(t.step, 'guest-disks'); // only one disk now
  assert.equal(buildSetup(t).driverDisksLoaded, ['megaraid-dd']);
});

test('lists: a number picks an entry (several digits too); letters jump, and more letters narrow', () => {
  let s = walk(start({ timezones: Array.from({ length: 12 }, (_, i) => `R${String(i + 1).padStart(2, '0')}/C`) }), FRESH_STATIC_KEYS.slice(0, 11));
  assert.is(s.step, 'timezone-region');
  assert.match(screen(s), />  1\) R01/);
  s = walk(s, '12');
  assert.match(screen(s), /> 12\) R12/);
  s = walk(s, '3'); // 123 names nothing: a fresh start with 3
  assert.match(screen(s), />  3\) R03/);
  let t = walk(start(), FRESH_STATIC_KEYS.slice(0, 11));
  t = walk(t, 'a');
  assert.match(screen(t), /> 1\) Africa/); // after Etc, wrapping round
  t = walk(t, 'a');
  assert.match(screen(t), /> 2\) America/);
  t = walk(t, '{enter}n');
  assert.match(screen(t), /> 2\) New York/);
  t = walk(t, '{up}new');
  assert.match(screen(t), /> 2\) New York/);
  t = walk(t, '{enter}');
  t = walk(t, '{enter}{tab}ntp1{enter}');
  assert.is(buildConfig(t).kind === 'install' && (buildConfig(t) as { timezone: string }).timezone, 'America/New_York');
});

test('EULA: pages with PgDn/Down; Decline ends the installer', () => {
  let s = walk(start(), '{enter}{enter}');
  assert.is(s.step, 'eula');
  assert.match(screen(s), /Licence paragraph 1\./);
  assert.match(screen(s), /lines 1-13 of 40/);
  s = walk(s, '{pagedown}{down}');
  assert.match(screen(s), /lines 14-26 of 40/);
  assert.not.match(screen(s), /Licence paragraph 1\./);
  s = walk(s, '{tab}{enter}');
  assert.equal(s.outcome, { kind: 'cancelled', reason: 'eula-declined' });
  const r = walk(start(), '{enter}{tab}{tab}{enter}'); // welcome: Reboot
  assert.equal(r.outcome, { kind: 'cancelled', reason: 'reboot' });
});

test('a plan that cannot be made blocks the install: only Back is offered', () => {
  const failing = { ...DEFAULT_EFFECTS, summary: () => ({ ok: false as const, error: 'The disk /dev/sda is too small (40.0 GiB); at least 46 GiB is needed.' }) };
  let s = walk(start(), FRESH_STATIC_KEYS, failing);
  assert.is(s.step, 'confirm');
  assert.match(screen(s), /cannot go ahead: The disk \/dev\/sda is too small/);
  assert.not.match(screen(s), /Install XenServer/);
  s = walk(s, '{enter}', failing);
  assert.is(s.step, 'ntp');
  assert.is(s.outcome, undefined);
});

test('manual time: asked after Install; the answers go into the setup', () => {
  const k = [...FRESH_STATIC_KEYS.slice(0, -2), '2{enter}'];
  let s = walk(start(), k);
  assert.is(s.step, 'confirm');
  s = walk(s, '{enter}');
  assert.is(s.step, 'manual-time');
  assert.match(screen(s), /Date \(YYYY-MM-DD\): \[2017-06-30_\]/);
  s = walk(s, '{backspace}1{tab}{backspace}{backspace}{backspace}{backspace}{backspace}25:00{enter}');
  assert.match(screen(s), /'2017-06-31' is not a date/);
  s = walk(s, '{backtab}{backspace}0{enter}');
  assert.match(screen(s), /'25:00' is not a time/);
  s = walk(s, '{tab}{backspace}{backspace}{backspace}{backspace}{backspace}09:15{enter}');
  assert.equal(s.outcome, { kind: 'config' });
  assert.equal(buildSetup(s).time, { method: 'manual', date: '2017-06-30', time: '09:15' });
  assert.equal(roundTrip(s).kind, 'install');
});

test('with install callbacks: installing, supplemental packs from CD, done', () => {
  let s = walk(start({}, { install: true, suppPacks: true, driverDisk: false }), [...FRESH_STATIC_KEYS, '{enter}'], { ...DEFAULT_EFFECTS, install: () => ({ ok: true }) });
  assert.is(s.step, 'supp-packs');
  assert.match(screen(s), /Would you like to install any Supplemental Packs\?/);
  s = walk(s, '{esc}');
  assert.is(s.step, 'supp-packs'); // no way back into the finished install
  s = walk(s, '{enter}');
  assert.is(s.step, 'supp-pack-insert');
  s = walk(s, '{enter}');
  assert.match(screen(s), /Installed pack-1/);
  s = walk(s, '{enter}');
  assert.match(screen(s), /any more Supplemental Packs\?/);
  s = walk(s, '{tab}{enter}');
  assert.is(s.step, 'done');
  s = walk(s, '{enter}');
  assert.equal(s.outcome, { kind: 'installed' });
  assert.equal(s.suppPacks, ['pack-1']);
  const failed = walk(start({}, { install: true, suppPacks: true, driverDisk: false }), [...FRESH_STATIC_KEYS, '{enter}'], { ...DEFAULT_EFFECTS, install: () => ({ ok: false, error: 'mkfs failed' }) });
  assert.is(failed.step, 'failed');
  assert.match(screen(failed), /An unrecoverable error has occurred\.\s+The error was:/);
  assert.match(screen(failed), /mkfs failed/);
  assert.equal(walk(failed, '{enter}').outcome, { kind: 'install-failed', error: 'mkfs failed' });
});

test('every frame of a walk fits 80x24 and uses no control sequence but clear + home', () => {
  let s = start();
  const frames = [renderFrame(s)];
  for (const k of [...FRESH_STATIC_KEYS, '{f1}']) {
    s = walk(s, k);
    frames.push(renderFrame(s));
  }
  for (const f of frames) {
    assert.ok(f.startsWith(CLEAR));
    const body = f.slice(CLEAR.length);
    assert.not.match(body, /[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]/);
    const lines = body.split('\r\n');
    assert.is(lines.pop(), '');
    assert.ok(lines.length <= 24, `${lines.length} lines:\n${lines.join('\n')}`);
    for (const l of lines) assert.ok(l.length <= 80, l);
  }
  assert.is(currentScreen(start()).title, 'Select Keymap');
});

test('the saved answer file carries a SHA-512 crypt hash, not the password', () => {
  const s = walk(start(), FRESH_STATIC_KEYS);
  const config = buildConfig(s);
  const text = answerFileToSave(config, 'abcdefghijklmnop');
  assert.not.match(text, /secret1/);
  const parsed = parseAnswerFile(text);
  assert.equal(parsed.errors, []);
  if (parsed.config?.kind !== 'install' || parsed.config.mode !== 'fresh') throw new Error('not a fresh install');
  assert.equal(parsed.config.rootPassword, { type: 'hash', value: sha512Crypt('secret1', 'abcdefghijklmnop') });
  assert.equal({ ...parsed.config, rootPassword: undefined }, { ...config, rootPassword: undefined });
});

test.run();
