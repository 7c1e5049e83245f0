// A killed chroot build can leave mounts inside its scratch directory: the
// sweep unmounts exactly those below the directory, deepest first.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mountsUnder } from '../../core/cache.ts';

const MOUNTS = [
  'proc /proc proc rw 0 0',
  'proc /c/tmp/a.1/work/root/proc proc ro 0 0',
  'none /c/tmp/a.1/work/root/dev/pts devpts rw 0 0',
  'tmpfs /c/tmp/a.1/work/root/dev tmpfs rw 0 0',
  'tmpfs /c/tmp/a.10/x tmpfs rw 0 0',
  'tmpfs /c/tmp/a.1/work/with\\040space tmpfs rw 0 0',
].join('\n');

test('mounts below the directory, deepest first; a sibling with the same prefix is not one', () => {
  assert.equal(mountsUnder('/c/tmp/a.1', MOUNTS), [
    '/c/tmp/a.1/work/root/dev/pts',
    '/c/tmp/a.1/work/with space',
    '/c/tmp/a.1/work/root/proc',
    '/c/tmp/a.1/work/root/dev',
  ]);
  assert.equal(mountsUnder('/c/tmp/a.2', MOUNTS), []);
});

test.run();
