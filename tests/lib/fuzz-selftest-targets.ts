// Targets with planted bugs, for the fuzzer's own test (tests/unit/fuzz-harness.test.ts).
import type { FuzzTarget } from './fuzz.ts';

class CleanError extends Error {}

const seed = Buffer.from('0123456789abcdef0123456789abcdef');

export const targets: Record<string, FuzzTarget> = {
  // a bounds bug: reads a length byte and trusts it
  'planted-range-error': {
    seeds: () => [seed],
    run(input) {
      if (input.length < 4) throw new CleanError('too short');
      input.readUInt32LE(input[0]! % 64);
    },
    clean: (err) => err instanceof CleanError,
  },
  // loops forever when the first byte becomes 0xff
  'planted-hang': {
    seeds: () => [seed],
    run(input) {
      // eslint-disable-next-line no-empty
      while (input[0] === 0xff) {}
    },
    clean: () => false,
  },
  // never fails: only clean errors
  'clean-only': {
    seeds: () => [seed],
    run(input) { if (input.length !== seed.length) throw new CleanError('length changed'); },
    clean: (err) => err instanceof CleanError,
  },
};
