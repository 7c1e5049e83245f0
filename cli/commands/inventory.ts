// xsforge inventory validate|answers|schema: check a host inventory and write one
// answer file per host for network installs.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { XsforgeError } from '../../core/errors.ts';
import { formatIssue } from '../../recipes/load.ts';
import { parseAnswerFile } from '../../answerfiles/parse.ts';
import { INVENTORY_SCHEMA, loadInventory, validateInventory, type Inventory, type InventoryIssue } from '../../inventory/load.ts';
import { answerFileName, hostAnswerFile, repoSource, type HostAnswerOptions } from '../../inventory/answers.ts';

function formatWarning(w: InventoryIssue): string {
  return `${w.file}:${w.line}:${w.column}: warning: ${w.path ? `${w.path}: ` : ''}${w.message}`;
}

/**
 * Writes `<mac>.xml` for every host into `outDir`, all or nothing: the files go
 * into a new directory beside it that is then renamed into place. An existing
 * `outDir` is replaced only when it holds nothing but .xml files (an earlier
 * run's output); anything else there is not ours to delete. Each file is read
 * back through the answer-file parser before anything is written.
 */
export function writeAnswerFiles(inventory: Inventory, outDir: string, options: HostAnswerOptions = {}): string[] {
  const out = resolve(outDir);
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new XsforgeError(`${outDir} exists and is not a directory`);
    const foreign = readdirSync(out).filter((e) => !e.endsWith('.xml'));
    if (foreign.length) {
      throw new XsforgeError(`${outDir} holds files that are not answer files (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}); it would be replaced as a whole`,
        'choose a new or empty directory, or one that only an earlier `inventory answers` run wrote');
    }
  }
  const files = inventory.hosts.map((host) => {
    const text = hostAnswerFile(host, options);
    const parsed = parseAnswerFile(text);
    if (parsed.errors.length) {
      throw new XsforgeError(`the answer file generated for ${host.hostname} (${host.mac}) is not valid: ${parsed.errors.map((e) => e.message).join('; ')}`);
    }
    // A kept plaintext password is readable only by the owner.
    const mode = host.root_password && 'plaintext' in host.root_password ? 0o600 : 0o644;
    return { name: answerFileName(host), text, mode };
  });

  mkdirSync(dirname(out), { recursive: true });
  const tmp = mkdtempSync(join(dirname(out), `.${basename(out)}.tmp-`));
  try {
    for (const f of files) writeFileSync(join(tmp, f.name), f.text, { mode: f.mode });
    chmodSync(tmp, 0o755); // mkdtemp makes it 0700; the directory is meant to be served
    if (existsSync(out)) {
      const old = `${tmp}.old`;
      renameSync(out, old);
      renameSync(tmp, out);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, out);
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return files.map((f) => f.name);
}

export function register(program: Command): void {
  const inv = program.command('inventory').description('Host inventories for network installs: check them, write per-host answer files');

  inv.command('validate')
    .description('Check a host inventory (YAML or .csv); exit 0 only if it is valid')
    .argument('<file>', 'inventory file (.yaml/.yml, or .csv with one host per row)')
    .option('--json', 'print {file, valid, hosts, errors[{file, line, column, path, message}], warnings[...]}')
    .action((file, o) => {
      const r = validateInventory(file);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      } else {
        for (const e of r.errors) process.stdout.write(`${formatIssue(e)}\n`);
        for (const w of r.warnings) process.stdout.write(`${formatWarning(w)}\n`);
        if (r.valid) process.stdout.write(`${r.file}: valid (${r.hosts} host${r.hosts === 1 ? '' : 's'})\n`);
      }
      if (!r.valid) process.exitCode = 1;
    });

  inv.command('answers')
    .description('Write one answer file per host, DIR/<mac>.xml; nothing is written when the inventory has errors')
    .argument('<file>', 'inventory file')
    .requiredOption('--out <dir>', 'directory to write (replaced as a whole; created when missing)')
    .option('--repo-url <url>', 'install repository for <source>: http(s)://, ftp://, file:/// or nfs://server:/path (default: the boot medium, type local)')
    .action((file, o) => {
      const options: HostAnswerOptions = o.repoUrl !== undefined ? { repoUrl: o.repoUrl } : {};
      if (o.repoUrl !== undefined) repoSource(o.repoUrl); // a bad URL fails before the inventory is read
      const inventory = loadInventory(file);
      for (const w of inventory.warnings) process.stderr.write(`xsforge: ${formatWarning(w)}\n`);
      const names = writeAnswerFiles(inventory, o.out, options);
      process.stdout.write(`wrote ${names.length} answer file${names.length === 1 ? '' : 's'} to ${o.out}\n`);
    });

  inv.command('schema')
    .description('Print the inventory JSON Schema (every key with its description)')
    .action(() => { process.stdout.write(`${JSON.stringify(INVENTORY_SCHEMA, null, 2)}\n`); });
}
