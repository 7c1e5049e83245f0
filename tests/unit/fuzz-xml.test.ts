// Bounded, seeded fuzzing (tests/lib/fuzz.ts) of answer files, update.xml and comps.
// Property: a result or the parser's own error, nothing else, within 2 s per input.
// Longer: XSFORGE_FUZZ_SECONDS=60 XSFORGE_FUZZ_SEED=random node --import tsx tests/unit/fuzz-xml.test.ts
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatFailures, fuzzAll, fuzzSeconds, type FuzzReport } from '../lib/fuzz.ts';

const FILE = 'tests/unit/fuzz-xml.test.ts';
const TARGETS = ['answerfile', 'update-xml', 'comps'];
let reports: FuzzReport[] = [];

test.before(async () => {
  reports = await fuzzAll(TARGETS, { seconds: fuzzSeconds(1.0) });
});

for (const [i, name] of TARGETS.entries()) {
  test(`fuzz ${name}: no crash other than a clean error`, () => {
    const r = reports[i]!;
    assert.is(r.failures.length, 0, `\n${formatFailures(r, FILE)}`);
    // the seed inputs and some mutations ran (a replay runs one input of one target)
    assert.ok(r.inputs >= (process.env.XSFORGE_FUZZ_INPUT ? 0 : 5), `only ${r.inputs} inputs`);
  });
}

// ---- the crashes the fuzzer found, fixed; each input as it was found or cut down

import { parseAnswerFile } from '../../answerfiles/parse.ts';
import { checkUpdateXml, UpdateXmlError, parseUpdateXml } from '../../updates/update-xml.ts';
import { parseComps } from '../../repo/comps.ts';
import { XsforgeError } from '../../core/errors.ts';

// fuzz answerfile seed 1 input #332: a control byte inside <?xml ...?> passes
// fast-xml-parser's validator, then its parser threw "Pi Tag is not closed."
const UNCLOSED_PI = Buffer.from('3c3f786d6c2076657273696f6e3d22312e302220656e636f64696e6700025554462d38223f3e0a3c726573746f72653e0a20203c6261636b75702d6469736b3e2f6465762f7364613c2f6261636b75702d6469736b3e0a3c2f726573746f72653e0a', 'hex').toString('utf8');

test('answer file: an XML declaration the parser cannot close is a malformed-XML error, not an exception', () => {
  const r = parseAnswerFile(UNCLOSED_PI);
  assert.is(r.config, undefined);
  assert.is(r.errors.length, 1);
  assert.is(r.errors[0]!.message, 'Answerfile is incorrectly formatted.');
  assert.match(r.errors[0]!.detail!, /Pi Tag is not closed/);
});

test('update.xml: the same declaration is a problem listed by checkUpdateXml, and UpdateXmlError from parseUpdateXml', () => {
  const text = UNCLOSED_PI.replace(/<restore>[\s\S]*/, '<update name-label="a" uuid="3f6e4c2a-8d1b-5e7f-9a0b-1c2d3e4f5a6b" version="1"><name-description>x</name-description></update>');
  assert.match(checkUpdateXml(text).problems.join('\n'), /not well-formed XML: Pi Tag is not closed/);
  assert.throws(() => parseUpdateXml(text), (e: unknown) => e instanceof UpdateXmlError);
});

// fuzz answerfile seed 1 input #712 and update-xml #8326: an external entity made
// the parser throw "External entities are not supported" out of parseAnswerFile
test('an external entity declaration is refused with the line it is on (answer file, update.xml, comps)', () => {
  const decl = '<!DOCTYPE installation [<!ENTITY e SYSTEM "file:///etc/passwd">]>';
  const a = parseAnswerFile(`<?xml version="1.0"?>\n${decl}\n<installation><hostname>&e;</hostname></installation>`);
  assert.is(a.errors[0]!.line, 2);
  assert.match(a.errors[0]!.detail!, /entity declarations .* not allowed/);
  assert.match(checkUpdateXml(`${decl}<update/>`).problems[0]!, /entity declarations .* not allowed in update.xml/);
  assert.throws(() => parseComps(`${decl}<comps/>`), (e: unknown) => e instanceof XsforgeError && /declares entities/.test(e.message));
});

test('a comment that mentions <!ENTITY is not a declaration', () => {
  const r = parseAnswerFile('<!-- no <!ENTITY here --><restore><backup-disk>sda</backup-disk></restore>');
  assert.equal(r.errors, []);
});

test.run();
