// The Xen and dom0 command-line rule (target/boot-args.ts) and the values the
// installed host's boot line and inventory take from it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_XEN_BOOT, dom0MemMiB } from '../../target/boot-args.ts';

test('DOM0_MEM in MiB: the max: size, else the first plain size, else the first size', () => {
  assert.is(dom0MemMiB(DEFAULT_XEN_BOOT.dom0_mem), 1024);
  assert.is(dom0MemMiB('2048M'), 2048);
  assert.is(dom0MemMiB('4G'), 4096);
  assert.is(dom0MemMiB('1024M,max:2G'), 2048);
  assert.is(dom0MemMiB('min:512M,max:1T'), 1024 * 1024);
  assert.is(dom0MemMiB('min:512M,3072M'), 3072);
  assert.is(dom0MemMiB('min:768M'), 768);
  assert.is(dom0MemMiB('1572864K'), 1536);
  for (const bad of ['', '1024', '1024MB', 'max:', '1024M,', '-512M', '1024M max:2G']) assert.throws(() => dom0MemMiB(bad), /not a Xen dom0_mem value/, bad);
});

test.run();
