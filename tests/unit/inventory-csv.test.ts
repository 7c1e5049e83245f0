// CSV host inventories: the cell reader, column names, value conversion and error places.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCsv } from '../../inventory/csv.ts';
import { parseInventory } from '../../inventory/load.ts';
import { CSV_COLUMNS, INVENTORY_SCHEMA } from '../../inventory/schema.ts';
import { formatIssue } from '../../recipes/load.ts';
import { hostAnswerFile } from '../../inventory/answers.ts';
import { parseAnswerFile } from '../../answerfiles/parse.ts';

const csv = (lines: string[]) => parseInventory(lines.join('\n'), 'hosts.csv');
const errorsOf = (lines: string[]) => csv(lines).errors.map(formatIssue);

test('parseCsv: quotes, doubled quotes, CRLF, line breaks in quotes, comments, blank lines, BOM', () => {
  const { rows, errors } = parseCsv('\ufeffa,b,c\r\n# comment\r\n\r\n"x,1","say ""hi""",\n"two\nlines",z');
  assert.equal(errors, []);
  assert.equal(rows.map((r) => r.cells.map((c) => c.text)), [['a', 'b', 'c'], ['x,1', 'say "hi"', ''], ['two\nlines', 'z']]);
  assert.equal(rows.map((r) => r.line), [1, 4, 5]);
  assert.equal(rows[1]!.cells.map((c) => [c.line, c.column]), [[4, 1], [4, 7], [4, 20]]);
  assert.equal(rows[2]!.cells.map((c) => [c.line, c.column]), [[5, 1], [6, 8]]);
  assert.equal(parseCsv('a,"b\nc').errors, [{ line: 1, column: 3, message: 'a quoted field is not closed (a " is missing)' }]);
  assert.equal(parseCsv('a,"b"c,d').errors, [{ line: 1, column: 6, message: 'text after a closing quote; write "" for a quote inside a quoted field' }]);
});

test('every host key has a CSV column', () => {
  const host = (INVENTORY_SCHEMA.properties as Record<string, { items: { properties: Record<string, { properties?: object }> } }>).hosts.items.properties;
  const expected: string[] = [];
  for (const [k, v] of Object.entries(host)) {
    if (k !== 'scripts' && v.properties) expected.push(...Object.keys(v.properties).map((s) => `${k}.${s}`));
    else expected.push(k);
  }
  assert.equal([...CSV_COLUMNS].sort(), expected.sort());
});

test('a CSV inventory: lists, booleans, integers, nested columns, scripts, empty cells', () => {
  const r = csv([
    'mac,hostname,primary_disk,management.mode,management.ip,management.netmask,management.gateway,management.dns,management.vlan,guest_disks,multipath,scripts,root_password.hash',
    '00-16-3E-00-00-01,a1,sda,static,10.0.0.11,255.255.255.0,10.0.0.1,10.0.0.53 10.0.0.54,7,sdb  sdc,yes,installation-complete:http://x/done.sh filesystem-populated:nfs://srv:/s/fs.sh,',
    '00:16:3e:00:00:02,a2,sda,,,,,,,,false,,',
  ]);
  assert.equal(r.errors.map(formatIssue), []);
  const [a1, a2] = r.inventory!.hosts;
  assert.is(r.inventory!.format, 'csv');
  assert.equal(a1!.management, { hwaddr: '00:16:3e:00:00:01', mode: 'static', ip: '10.0.0.11', netmask: '255.255.255.0', gateway: '10.0.0.1', dns: ['10.0.0.53', '10.0.0.54'], vlan: 7 });
  assert.equal(a1!.guest_disks, ['sdb', 'sdc']);
  assert.is(a1!.multipath, true);
  assert.equal(a1!.scripts, [{ stage: 'installation-complete', url: 'http://x/done.sh' }, { stage: 'filesystem-populated', url: 'nfs://srv:/s/fs.sh' }]);
  assert.is(a1!.line, 2);
  assert.equal(a2!.management, { hwaddr: '00:16:3e:00:00:02', mode: 'dhcp', dns: [] });
  assert.is(a2!.multipath, false);
  for (const h of r.inventory!.hosts) assert.equal(parseAnswerFile(hostAnswerFile(h)).errors, []);
  // the VLAN warning points at its cell
  assert.equal(r.warnings.map((w) => `${w.line}:${w.column} ${w.path}`), ['2:86 hosts[0].management.vlan']);
});

test('CSV header errors: unknown and repeated columns, a missing required column', () => {
  assert.equal(errorsOf(['mac,hostname,primary_disk,mgmt.ip', '00:16:3e:00:00:01,a1,sda,10.0.0.1']), [
    `hosts.csv:1:27: unknown column 'mgmt.ip' (columns: ${CSV_COLUMNS.join(', ')})`,
  ]);
  assert.equal(errorsOf(['mac,hostname,primary_disk,managment.ip'])[0]!.split(' (columns')[0],
    "hosts.csv:1:27: unknown column 'managment.ip'; did you mean 'management.ip'?");
  assert.equal(errorsOf(['mac,hostname,mac,primary_disk']), ["hosts.csv:1:14: column 'mac' is named twice (columns 1 and 3)"]);
  assert.equal(errorsOf(['mac,hostname', '00:16:3e:00:00:01,a1']), [
    "hosts.csv:1:1: the header has no 'primary_disk' column (every host needs mac, hostname and primary_disk; a CSV inventory has no defaults)",
  ]);
  assert.equal(errorsOf(['']), ['hosts.csv:1:1: the inventory file is empty (a CSV inventory starts with a header row naming its columns)']);
  assert.equal(errorsOf(['mac,hostname,primary_disk']), ['hosts.csv:1:1: hosts: must list at least 1 item']);
});

test('CSV cell errors carry the cell\'s line and column', () => {
  assert.equal(errorsOf([
    '# rack 3',
    'mac,hostname,primary_disk,management.mode,management.ip,management.netmask,management.gateway,multipath,scripts',
    '00:16:3e:00:00:01,a1,sda,static,10.0.0.11,255.255.255.0,10.0.1.1,maybe,',
    '00:16:3e:00:00:01,a_2,sda,,,,,,done.sh',
    '00:16:3e:00:00:03,a3,sda,static,10.0.0.13,,,,,extra',
  ]), [
    'hosts.csv:3:57: hosts[0].management.gateway: gateway 10.0.1.1 is outside the subnet 10.0.0.0/24 of ip 10.0.0.11 (netmask 255.255.255.0)',
    'hosts.csv:3:66: hosts[0].multipath: expected true or false, got the string "maybe"',
    'hosts.csv:4:1: hosts[1].mac: MAC 00:16:3e:00:00:01 is also used by hosts[0] (a1) at hosts.csv:3:1',
    "hosts.csv:4:19: hosts[1].hostname: 'a_2' is not a valid host name: it contains '_' in label 'a_2'; labels hold only letters, digits and hyphens (RFC 1123: labels of 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen)",
    'hosts.csv:4:32: hosts[1].scripts: script \'done.sh\' is not stage:url (stage one of installation-start, filesystem-populated, installation-complete)',
    'hosts.csv:5:26: hosts[2].management: mode static needs ip, netmask and gateway (missing: netmask, gateway)',
    'hosts.csv:5:47: hosts[2]: the row has 10 cells but the header names 9 columns',
  ]);
});

test.run();
