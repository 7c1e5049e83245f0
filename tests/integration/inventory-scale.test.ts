// A 10,000-host inventory: loading it, generating every answer file (the budget is
// well under 5 s), and writing the checked files; prints the figures measured.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseInventory, type Inventory } from '../../inventory/load.ts';
import { hostAnswerFile } from '../../inventory/answers.ts';
import { hostBootArgs } from '../../inventory/boot-args.ts';
import { writeAnswerFiles } from '../../cli/commands/inventory.ts';
import { sha512Crypt } from '../../installer/runtime/sha512crypt.ts';

const N = 10_000;
const HASH = '$6$xsforgeexample01$QysuReLybGbYJZjDxPPFfGpkzGWMZmywThlwqwZ/IOuLrFULWzUowKUSKk1RzsdYMNofUYMgCBOw63hfseDlO/';

/** Half DHCP, half static (unique addresses in 10.0.0.0/16), all with the hash from defaults. */
function bigInventory(): string {
  const lines = [
    'defaults:',
    '  primary_disk: sda',
    '  guest_disks: [sdb]',
    '  timezone: Europe/London',
    '  ntp: [ntp1.example.com]',
    '  management: { netmask: 255.255.0.0, gateway: 10.0.0.1, dns: [10.0.0.53] }',
    `  root_password: { hash: "${HASH}" }`,
    '  supplemental_packs: [http://10.0.0.2/packs/tools/]',
    'hosts:',
  ];
  for (let i = 0; i < N; i++) {
    const mac = (0x525400000000 + i).toString(16).padStart(12, '0').match(/../g)!.join(':');
    lines.push(`  - mac: ${mac}`, `    hostname: xs${i}.example.com`);
    if (i % 2) lines.push(`    management: { mode: static, ip: 10.0.${Math.floor((i + 2) / 256)}.${(i + 2) % 256} }`);
  }
  return lines.join('\n');
}

const ms = (t0: number) => Math.round(performance.now() - t0);
let inventory: Inventory;

test(`loading ${N} hosts`, () => {
  const text = bigInventory();
  const t0 = performance.now();
  const r = parseInventory(text, 'big.yaml');
  const took = ms(t0);
  assert.equal(r.errors, []);
  inventory = r.inventory!;
  assert.is(inventory.hosts.length, N);
  console.log(`  parseInventory, ${N} hosts (${text.length} bytes): ${took} ms`);
});

test(`hostAnswerFile for ${N} hosts takes well under 5 s`, () => {
  const t0 = performance.now();
  let bytes = 0;
  for (const h of inventory.hosts) bytes += hostAnswerFile(h, { repoUrl: 'http://10.0.0.2/xs/' }).length;
  const took = ms(t0);
  console.log(`  hostAnswerFile x ${N}: ${took} ms (${(bytes / 1e6).toFixed(1)} MB of XML)`);
  assert.ok(took < 5000, `${took} ms`);
  const t1 = performance.now();
  for (const h of inventory.hosts) hostBootArgs(h, { answerfileUrl: `http://10.0.0.2/answers/${h.mac}.xml` });
  console.log(`  hostBootArgs x ${N}: ${ms(t1)} ms`);
});

test(`writing ${N} checked answer files`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xsforge-inventory-scale-'));
  try {
    const t0 = performance.now();
    writeAnswerFiles(inventory, join(dir, 'answers'), { repoUrl: 'http://10.0.0.2/xs/' });
    console.log(`  writeAnswerFiles (generate + parser check + write + rename) x ${N}: ${ms(t0)} ms`);
    assert.is(readdirSync(join(dir, 'answers')).length, N);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`a plaintext in defaults is hashed once for ${N} hosts; per host it would cost 5000 rounds each`, () => {
  const text = bigInventory().replace(`root_password: { hash: "${HASH}" }`, 'root_password: { plaintext: Shared-Default-1 }');
  const t0 = performance.now();
  const r = parseInventory(text, 'big.yaml');
  const took = ms(t0);
  assert.equal(r.errors, []);
  const hashes = new Set(r.inventory!.hosts.map((h) => (h.root_password as { hash: string }).hash));
  assert.is(hashes.size, 1);
  console.log(`  parseInventory, ${N} hosts sharing a default plaintext: ${took} ms`);
  // The specification's own test vector, then the cost of one hash.
  assert.is(sha512Crypt('Hello world!', 'saltstring'), '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1');
  const t1 = performance.now();
  for (let i = 0; i < 10; i++) sha512Crypt(`password-${i}`, 'saltsaltsaltsalt');
  const each = (performance.now() - t1) / 10;
  console.log(`  sha512Crypt: ${each.toFixed(1)} ms each, so ~${Math.round((each * N) / 1000)} s for ${N} different per-host plaintexts: give bulk inventories hashes`);
});

test.run();
