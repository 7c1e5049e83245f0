import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gzipSync } from 'node:zlib';
import { gunzipPrimary } from '../../repo/stage.ts';

// a primary.xml big enough to span many of zlib's default 16 KiB output pieces
const XML = `<?xml version="1.0" encoding="UTF-8"?>\n<metadata packages="2000">\n${Array.from({ length: 2000 }, (_, i) => `<package type="rpm"><name>pkg-${i}</name><summary>caf\u00e9 \u2603 ${i}</summary></package>`).join('\n')}\n</metadata>\n`;
const GZ = gzipSync(Buffer.from(XML));
const size = Buffer.byteLength(XML);

test('inflates to the same text whatever size repomd declares', () => {
  assert.ok(size > 64 * 1024 * 2, 'the fixture spans several output pieces');
  for (const declared of [size, 1, 64 * 1024, size - 1, size * 10, undefined, 0, Number.NaN]) {
    assert.is(gunzipPrimary(GZ, 'repodata/x-primary.xml.gz', declared), XML, `declared ${declared}`);
  }
});

test('plain XML passes through; damaged gzip is refused with the file named', () => {
  assert.is(gunzipPrimary(Buffer.from(XML), 'repodata/primary.xml', size), XML);
  const damaged = Buffer.from(GZ);
  damaged.fill(0x55, 20, 200);
  assert.throws(() => gunzipPrimary(damaged, 'repodata/x-primary.xml.gz', size), /x-primary\.xml\.gz does not decompress/);
  // a truncated stream is not taken as a shorter document
  assert.throws(() => gunzipPrimary(GZ.subarray(0, GZ.length - 100), 'repodata/x-primary.xml.gz', size), /does not decompress/);
});

test.run();
