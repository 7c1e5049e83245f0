// The e2e tier's scheduler: longest first, at most N at once, locks never shared.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { locksOf, runInLanes } from '../lib/lanes.ts';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('locksOf reads the test-lock line', () => {
  assert.equal(locksOf('// a test\n// test-lock: answer-port, pxe-port\nimport x;'), ['answer-port', 'pxe-port']);
  assert.equal(locksOf('// no locks here\n'), []);
});

test('two lanes: longest first, never more than two at once, a lock held by one job at a time', async () => {
  const jobs = [
    { name: 'a', locks: ['port'], cost: 50 },
    { name: 'b', locks: ['port'], cost: 40 },
    { name: 'c', locks: [], cost: 30 },
    { name: 'd', locks: ['port'], cost: 20 },
    { name: 'e', locks: [], cost: Infinity },
  ];
  const started: string[] = [];
  let running = 0;
  let most = 0;
  const holders = new Set<string>();
  await runInLanes(jobs, 2, async (job) => {
    started.push(job.name);
    running++;
    most = Math.max(most, running);
    for (const l of job.locks) {
      assert.not.ok(holders.has(l), `${job.name} started while ${l} was held`);
      holders.add(l);
    }
    await tick(job.cost === Infinity ? 5 : job.cost / 5);
    for (const l of job.locks) holders.delete(l);
    running--;
  });
  assert.equal([...started].sort(), ['a', 'b', 'c', 'd', 'e']);
  assert.is(started[0], 'e', 'an unknown duration counts as longest');
  assert.is(started[1], 'a');
  assert.is(most, 2);
});

test('lanes left waiting on a lock are all woken when it is released (three lanes, one lock)', async () => {
  const jobs = ['p', 'q', 'r', 's'].map((name, i) => ({ name, locks: ['only'], cost: 10 - i }));
  const order: string[] = [];
  await runInLanes(jobs, 3, async (job) => { order.push(job.name); await tick(3); });
  assert.equal(order, ['p', 'q', 'r', 's']);
});

test('a job that throws rejects the whole run', async () => {
  const ran: string[] = [];
  const err = await runInLanes([{ name: 'x', locks: ['l'], cost: 2 }, { name: 'y', locks: ['l'], cost: 1 }], 2, async (job) => {
    ran.push(job.name);
    if (job.name === 'x') throw new Error('boom');
  }).catch((e: Error) => e);
  assert.instance(err, Error);
  assert.ok(ran.includes('x'));
});

test.run();
